#pragma once
/// @file gene_sets_gmt.hpp
/// @brief Gene-set collections in GMT format (one set per line: name, description, then
/// its genes, tab-separated; plain or gzip), as MSigDB, Enrichr and GO exports write them.

#include <string>
#include <vector>

namespace scx {

/// One named gene set.
struct GeneSet {
    std::string name;
    std::string description;
    std::vector<std::string> genes; ///< as in the file, duplicates removed (first kept)
    std::string source;             ///< the file it came from
};

/// Reads every set of the GMT file at @p path. Blank lines and lines starting with '#' are
/// skipped. Throws scx::Error naming the file and line for a line with fewer than three
/// tab-separated fields, an empty set name, a set without genes, a duplicate set name, or a
/// file with no set.
std::vector<GeneSet> read_gmt(const std::string& path);

} // namespace scx
