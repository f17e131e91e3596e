#pragma once
/// @file csv_counts.hpp
/// @brief Dense counts tables: cells x genes, first row = gene names, first column = cell names.

#include "scextract/io/dataset.hpp"

#include <string>

namespace scx {

/// Reads a comma- (.csv) or tab-separated (.tsv) table, optionally gzip-compressed.
/// Errors name the file, line and column of the first bad value.
Dataset read_csv_counts(const std::string& path, const DatasetReadOptions& options = {});

} // namespace scx
