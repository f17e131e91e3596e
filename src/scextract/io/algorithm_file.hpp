#pragma once
/// @file algorithm_file.hpp
/// @brief The algorithm file (.scx): one scx container (io/scx_container.hpp) of kind
/// "algorithm" holding an Algorithm. docs/formats.md lists its arrays and metadata.

#include "scextract/core/algorithm.hpp"

#include <string>

namespace scx {

/// Writes @p algorithm to @p path atomically.
void write_algorithm_file(const Algorithm& algorithm, const std::string& path);

/// Reads and validates an algorithm file (checksums, shapes, consistency). Throws
/// scx::Error naming @p path and the problem.
Algorithm read_algorithm_file(const std::string& path);

} // namespace scx
