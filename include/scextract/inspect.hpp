#pragma once
/// @file inspect.hpp
/// @brief What a file is and holds: an .h5ad / 10x / CSV input (shape, encodings, columns,
/// keys), a model checkpoint (config, tensors, unused keys; nothing executed), or one of
/// scextract's own operator (.scxop) / algorithm (.scx) files (every checksum checked).
/// The CLI's `inspect` and the Python package's `scx.inspect` are this header.

#include <nlohmann/json.hpp>

#include <string>

namespace scx {

struct InspectResult {
    std::string kind;                ///< "scx" (operator or algorithm file), "checkpoint" or "input"
    nlohmann::ordered_json summary;  ///< machine-readable (schema in docs/cli.md)
    std::string text;                ///< the same for a person to read
};

/// Summarises @p path. Throws scx::Error naming the file when it cannot be read.
InspectResult inspect_path(const std::string& path);

} // namespace scx
