#pragma once
/// @file scx_summary.hpp
/// @brief `scextract inspect` for scextract's own files: what an operator file (.scxop) or
/// an algorithm file (.scx) holds - kind, panel, operators or latent and readouts, sizes,
/// provenance - after checking every checksum.

#include <nlohmann/json.hpp>

#include <string>

namespace scx {

/// True when @p path is a regular file that starts with the scx container's magic bytes.
bool is_scx_file(const std::string& path);

/// A summary of the container at @p path (opened with every array's CRC checked): "file",
/// "kind", "bytes", "arrays" (name, dtype, shape), and per kind - operator: layers, heads,
/// panel size and first genes, orientation, provenance; algorithm: panel, features,
/// latent dimension, target sum, blocks, readouts (task, kind, classes, parameters), the
/// ruler's name and the provenance fit recorded. Throws scx::Error naming the file when it
/// is damaged.
nlohmann::ordered_json summarize_scx_file(const std::string& path);

/// The summary as a few lines of text.
std::string format_scx_summary(const nlohmann::ordered_json& summary);

} // namespace scx
