#pragma once
/// @file input_matrix.hpp
/// @brief The library's cell-reading choices (api/input_cells.hpp), with the console as
/// the place their notes go.

#include "scextract/api/input_cells.hpp"
#include "scextract/cli/command.hpp"

namespace scx::cli {

using scx::counts_hint;
using scx::obs_strings;

inline std::vector<std::string> dataset_gene_symbols(const Dataset& d, const std::string& input, const std::string& force_column,
                                                     const Console& console) {
    return scx::dataset_gene_symbols(d, input, force_column, console.messages());
}

} // namespace scx::cli
