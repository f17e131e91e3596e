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

} // namespace scx
