#pragma once
/// @file atomic_file.hpp
/// @brief Write-to-temporary-then-rename, so a failed run never leaves a partial output.

#include <filesystem>
#include <string>
#include <string_view>

namespace scx {

/// A temporary path beside the final one. commit() renames it into place;
/// destruction without commit() removes it.
class AtomicOutput {
public:
    /// Refuses a final path that is one of @p inputs (never overwrite an input).
    explicit AtomicOutput(std::filesystem::path final_path);
    ~AtomicOutput();
    AtomicOutput(const AtomicOutput&) = delete;
    AtomicOutput& operator=(const AtomicOutput&) = delete;

    [[nodiscard]] const std::filesystem::path& temp_path() const { return temp_; }
    [[nodiscard]] const std::filesystem::path& final_path() const { return final_; }
    void commit();

private:
    std::filesystem::path final_, temp_;
    bool committed_ = false;
};

/// Writes @p text to @p path through an AtomicOutput (all or nothing); throws scx::Error
/// naming @p path when it cannot.
void write_text_atomically(const std::filesystem::path& path, std::string_view text);

/// Throws scx::Error when @p output names the same file as @p input.
void refuse_overwriting_input(const std::filesystem::path& input, const std::filesystem::path& output);

} // namespace scx
