#pragma once
/// @file fuzz_support.hpp
/// @brief What every libFuzzer target of tests/fuzz shares: the input's bytes as a file
/// (for readers that take a path) and the contract check. A reader may refuse an input
/// only with scx::Error (the CLI prints it as one line naming the file); any other
/// exception (std::out_of_range, nlohmann's, std::bad_alloc) leaks internal text or
/// exhausts memory, so the target aborts and libFuzzer records the input as a finding.
#include "scextract/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include <unistd.h>

namespace scx::fuzz {

/// A folder of this process's own, removed at exit: in /dev/shm where there is one (on a
/// disk-backed /tmp, creating and unlinking files each run costs 10x the parsing), else in
/// the temp folder; SCX_FUZZ_TMP overrides.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::error_code ec;
        const char* env = std::getenv("SCX_FUZZ_TMP");
        const std::filesystem::path base = env && *env ? std::filesystem::path(env)
                                           : std::filesystem::is_directory("/dev/shm", ec)
                                               ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
        auto d = base / ("scx_fuzz_" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        std::atexit([] { std::error_code ec; std::filesystem::remove_all(scratch_dir(), ec); });
        return d;
    }();
    return dir;
}

/// Writes @p bytes to scratch_dir()/@p name and returns its path.
inline std::string write_file(const std::string& name, std::span<const std::uint8_t> bytes) {
    const auto path = scratch_dir() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path.string();
}

inline std::span<const std::byte> as_bytes(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const std::byte*>(data), size};
}

/// Splits @p data at each "\n--8<--\n" (seeds use it between the files of one input).
inline std::vector<std::span<const std::uint8_t>> split_parts(std::span<const std::uint8_t> data, std::size_t max_parts) {
    static constexpr std::string_view kCut = "\n--8<--\n";
    std::vector<std::span<const std::uint8_t>> parts;
    std::size_t begin = 0;
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    while (parts.size() + 1 < max_parts) {
        const auto at = text.find(kCut, begin);
        if (at == std::string_view::npos) break;
        parts.push_back(data.subspan(begin, at - begin));
        begin = at + kCut.size();
    }
    parts.push_back(data.subspan(begin));
    while (parts.size() < max_parts) parts.push_back({});
    return parts;
}

/// Runs @p read; scx::Error is an accepted refusal, anything else aborts (a finding).
template <class F>
int run_reader(F&& read) {
    try {
        read();
    } catch (const scx::Error& e) {
        // the contract: a clean refusal naming the file (shown for triage with SCX_FUZZ_VERBOSE=1)
        static const bool verbose = std::getenv("SCX_FUZZ_VERBOSE") != nullptr;
        if (verbose) std::fprintf(stderr, "scx fuzz: refused: %s\n", e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "scx fuzz: reader threw %s, not scx::Error: %s\n", typeid(e).name(), e.what());
        std::abort();
    }
    return 0;
}

} // namespace scx::fuzz
