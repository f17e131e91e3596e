#include "scextract/io/output_paths.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/live_temporaries.hpp"

#include <fmt/format.h>

namespace scx {

namespace fs = std::filesystem;

bool same_file(const fs::path& a, const fs::path& b) {
    if (a.empty() || b.empty()) return false;
    std::error_code ec_a, ec_b;
    const bool a_exists = fs::exists(a, ec_a), b_exists = fs::exists(b, ec_b);
    if (a_exists && b_exists) {
        std::error_code ec;
        const bool same = fs::equivalent(a, b, ec);
        return !ec && same;
    }
    // not both there (an output not yet written, a dangling link): where the paths lead
    std::error_code ec;
    const auto ca = fs::weakly_canonical(a, ec);
    if (ec) return false;
    const auto cb = fs::weakly_canonical(b, ec);
    return !ec && ca == cb;
}

namespace {
/// An existing file directly inside an input folder (a checkpoint folder's vocab.json, a
/// 10x folder's matrix.mtx) may be read by the command: treated as an input.
bool inside_input_folder(const fs::path& folder, const fs::path& output) {
    std::error_code ec;
    if (folder.empty() || !fs::is_directory(folder, ec) || !fs::exists(output, ec) || fs::is_directory(output, ec)) return false;
    const auto parent = fs::weakly_canonical(output, ec).parent_path();
    if (ec) return false;
    const auto dir = fs::weakly_canonical(folder, ec);
    return !ec && parent == dir;
}
} // namespace

void refuse_overwriting_inputs(const fs::path& output, const std::vector<fs::path>& inputs) {
    if (output.empty()) return;
    for (const auto& input : inputs)
        if (same_file(input, output) || inside_input_folder(input, output))
            throw Error(fmt::format("{}: refusing to overwrite the input file {}; choose another output path",
                                    output.string(), input.string()));
}

void refuse_overwriting_inputs(const std::vector<fs::path>& outputs, const std::vector<fs::path>& inputs) {
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        if (outputs[i].empty()) continue;
        refuse_overwriting_inputs(outputs[i], inputs);
        for (std::size_t j = 0; j < i; ++j)
            if (same_file(outputs[i], outputs[j]))
                throw Error(fmt::format("{}: given as two different outputs; choose distinct output paths", outputs[i].string()));
    }
}

OutputFolder::OutputFolder(fs::path dir, bool on_signal) : dir_(std::move(dir)) {
    std::error_code ec;
    if (fs::exists(dir_, ec)) {
        if (!fs::is_directory(dir_, ec)) throw Error(fmt::format("{}: exists and is not a directory", dir_.string()));
        return;
    }
    fs::create_directories(dir_, ec);
    if (ec) throw Error(fmt::format("{}: cannot create the output folder ({})", dir_.string(), ec.message()));
    created_ = true;
    if (on_signal) slot_ = register_live_temporary(fs::absolute(dir_, ec), true);
}

OutputFolder::~OutputFolder() {
    unregister_live_temporary(slot_);
    if (created_ && !kept_) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
}

void OutputFolder::keep() {
    kept_ = true;
    unregister_live_temporary(slot_);
    slot_ = -1;
}

} // namespace scx
