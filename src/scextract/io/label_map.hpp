#pragma once
/// @file label_map.hpp
/// @brief A user's own cell-type label -> ruler stage table (`--label-map map.tsv`), for
/// labels the ruler's built-in synonyms do not cover or map differently than a study needs.
///
/// The file is tab-separated, one `label<TAB>stage` per line; blank lines and lines starting
/// with '#' are skipped, and a first line `label<TAB>stage` is a header. Stages are the
/// ruler's stage names, spelled exactly.

#include "scextract/core/ruler.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// One row of a label map.
struct LabelMapEntry {
    std::string label, stage;
    std::int64_t line = 0; ///< 1-based line in the file, for messages
};

/// Reads a label map. Throws scx::Error naming the file and line for a line without exactly
/// one tab, an empty label or stage, or one label given two different stages.
std::vector<LabelMapEntry> read_label_map(const std::string& path);

/// Adds @p entries to @p ruler's labels ahead of its own, so they win: a built-in synonym with
/// the same normalize_label() form as a mapped label is dropped. Throws scx::Error naming
/// @p path and the line for a stage the ruler does not have (listing some that it has).
void add_label_map(Ruler& ruler, const std::vector<LabelMapEntry>& entries, const std::string& path);

/// load_ruler(@p source) with the label map at @p label_map_path added (none when empty).
Ruler load_ruler_with_label_map(const std::string& source, const std::string& label_map_path);

} // namespace scx
