#include "scextract/io/atomic_file.hpp"

#include "scextract/core/error.hpp"

#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

namespace scx {

AtomicOutput::AtomicOutput(std::filesystem::path final_path) : final_(std::move(final_path)) {
    if (final_.empty()) throw Error("output path is empty");
    const auto dir = final_.has_parent_path() ? final_.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error(fmt::format("{}: output directory {} does not exist", final_.string(), dir.string()));
    temp_ = dir / fmt::format(".{}.tmp-{}", final_.filename().string(), ::getpid());
}

AtomicOutput::~AtomicOutput() {
    if (!committed_) {
        std::error_code ec;
        std::filesystem::remove(temp_, ec);
    }
}

void AtomicOutput::commit() {
    std::error_code ec;
    std::filesystem::rename(temp_, final_, ec);
    if (ec) throw Error(fmt::format("{}: cannot move finished output into place: {}", final_.string(), ec.message()));
    committed_ = true;
}

void write_text_atomically(const std::filesystem::path& path, std::string_view text) {
    AtomicOutput out(path);
    {
        std::ofstream f(out.temp_path(), std::ios::binary);
        f.write(text.data(), static_cast<std::streamsize>(text.size()));
        f.close();
        if (!f) throw Error(fmt::format("{}: cannot write", path.string()));
    }
    out.commit();
}

void refuse_overwriting_input(const std::filesystem::path& input, const std::filesystem::path& output) {
    std::error_code ec;
    if (std::filesystem::exists(output, ec) && std::filesystem::equivalent(input, output, ec))
        throw Error(fmt::format("{}: refusing to overwrite the input file; choose another output path", output.string()));
}

} // namespace scx
