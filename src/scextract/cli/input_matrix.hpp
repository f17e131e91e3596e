#pragma once
/// @file input_matrix.hpp
/// @brief Choices every subcommand that reads counts shares: where the counts are
/// and which var column holds gene symbols.

#include "scextract/cli/command.hpp"
#include "scextract/io/dataset.hpp"

#include <string>
#include <vector>

namespace scx::cli {

/// Where counts may be found, for the error when the chosen matrix holds none:
/// the file's other layers, raw.X, or X when a layer or raw was chosen.
std::string counts_hint(const Dataset& d, const std::string& layer, bool raw);

/// Gene symbols of @p d: var_names, or a symbol column when var_names are Ensembl ids,
/// or @p force_column. Says on the console which was used.
std::vector<std::string> dataset_gene_symbols(const Dataset& d, const std::string& input, const std::string& force_column,
                                              const Console& console);

} // namespace scx::cli
