#pragma once
/// @file input_matrix.hpp
/// @brief The library's cell-reading choices (api/input_cells.hpp), with the console as
/// the place their notes go.

#include "scextract/api/input_cells.hpp"
#include "scextract/cli/command.hpp"
#include "scextract/preprocess/input_values.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <string>

namespace scx::cli {

/// Adds --input-kind (detect, counts, lognorm) and --input-target-sum: what the input matrix
/// holds, for every command that reads cells.
inline void add_input_kind_options(CLI::App* app, InputValuesOptions& o) {
    static const std::map<std::string, InputKind> kinds{
        {"detect", InputKind::detect}, {"counts", InputKind::counts}, {"lognorm", InputKind::lognorm}};
    app->add_option("--input-kind", o.kind,
                    "what the matrix holds: counts, lognorm (log1p of counts normalised per cell) or detect")
        ->transform(CLI::CheckedTransformer(kinds, CLI::ignore_case))
        ->default_str("detect");
    app->add_option("--input-target-sum", o.target_sum,
                    "lognorm: the per-cell total the values were normalised to (default: read from the data)")
        ->check(CLI::PositiveNumber);
}

using scx::counts_hint;
using scx::obs_strings;

inline std::vector<std::string> dataset_gene_symbols(const Dataset& d, const std::string& input, const std::string& force_column,
                                                     const Console& console) {
    return scx::dataset_gene_symbols(d, input, force_column, console.messages());
}

} // namespace scx::cli
