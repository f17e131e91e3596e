#pragma once
/// @file csv_counts.hpp
/// @brief Dense counts tables: cells x genes, first row = gene names, first column = cell names.

#include "scextract/io/dataset.hpp"

#include <string>

namespace scx {

/// Reads a comma- (.csv) or tab-separated (.tsv) table, optionally gzip-compressed
/// (.csv.gz, .tsv.gz). Rows are cells and columns genes; there is no transpose option.
///
/// The header's first cell (the corner) may be empty or a name; a header one field
/// shorter than the data rows (R's write.table) is taken as gene names only. Fields
/// may be double-quoted ("" inside quotes is a quote). Values are parsed as numbers,
/// stored as float32 CSR without the zeros; an empty, non-numeric or non-finite value
/// is an error. Names are kept as written (duplicates are not renamed). @p options is
/// not used by this format.
///
/// Errors name the file, line and column of the first bad value.
Dataset read_csv_counts(const std::string& path, const DatasetReadOptions& options = {});

} // namespace scx
