#include "scextract/io/atomic_file.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/live_temporaries.hpp"
#include "scextract/io/output_paths.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
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
    register_live_temporary(temp_, false); // removed on SIGINT/SIGTERM too
}

AtomicOutput::~AtomicOutput() {
    if (!committed_) {
        std::error_code ec;
        std::filesystem::remove(temp_, ec);
    }
    unregister_live_temporary(temp_);
}

void AtomicOutput::commit() {
    std::error_code ec;
    std::filesystem::rename(temp_, final_, ec);
    if (ec) throw Error(fmt::format("{}: cannot move finished output into place: {}", final_.string(), ec.message()));
    committed_ = true;
    unregister_live_temporary(temp_); // after the rename: a signal in between finds no file
}

void write_text_atomically(const std::filesystem::path& path, std::string_view text) {
    AtomicOutput out(path);
    {
        std::ofstream f(out.temp_path(), std::ios::binary);
        if (!f) throw Error(fmt::format("{}: cannot create ({})", path.string(), std::strerror(errno)));
        f.write(text.data(), static_cast<std::streamsize>(text.size()));
        f.close();
        if (!f) throw Error(fmt::format("{}: cannot write ({})", path.string(), std::strerror(errno)));
    }
    out.commit();
}

void refuse_overwriting_input(const std::filesystem::path& input, const std::filesystem::path& output) {
    refuse_overwriting_inputs(output, {input});
}

} // namespace scx
