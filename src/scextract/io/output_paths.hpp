#pragma once
/// @file output_paths.hpp
/// @brief No output replaces an input: every output path of a command is checked against
/// every file the command reads, through symbolic and hard links.

#include <filesystem>
#include <vector>

namespace scx {

/// True when @p a and @p b name the same file: std::filesystem::equivalent when both exist
/// (symbolic and hard links alike), otherwise their weakly_canonical forms compared.
[[nodiscard]] bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

/// Throws scx::Error naming @p output when it is the same file as any of @p inputs (empty
/// paths are skipped, so optional inputs can be passed as they are).
void refuse_overwriting_inputs(const std::filesystem::path& output, const std::vector<std::filesystem::path>& inputs);

/// refuse_overwriting_inputs for each of @p outputs, and refuses two outputs that are one file.
void refuse_overwriting_inputs(const std::vector<std::filesystem::path>& outputs,
                               const std::vector<std::filesystem::path>& inputs);

/// An output folder: created when absent, and then, unless keep() is called, removed with
/// everything in it when the run fails (on an exception, and with @p on_signal also on
/// SIGINT/SIGTERM). A folder that was there already is left as it is.
class OutputFolder {
public:
    OutputFolder(std::filesystem::path dir, bool on_signal);
    ~OutputFolder();
    OutputFolder(const OutputFolder&) = delete;
    OutputFolder& operator=(const OutputFolder&) = delete;

    [[nodiscard]] bool created() const { return created_; }
    [[nodiscard]] const std::filesystem::path& path() const { return dir_; }
    /// The run finished: the folder stays.
    void keep();

private:
    std::filesystem::path dir_;
    bool created_ = false, kept_ = false;
    int slot_ = -1;
};

} // namespace scx
