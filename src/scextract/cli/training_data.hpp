#pragma once
/// @file training_data.hpp
/// @brief The reference-cell options `fit`, `scan-heads` and `validate` share.

#include "scextract/api/input_cells.hpp"
#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"

#include <memory>
#include <string>

namespace scx::cli {

using TrainingArgs = ReferenceCellsOptions;
using TrainingInput = ReferenceCells;

/// Adds --train (or @p input_option), --label-key, --donor-key, --tissue-key, --layer, --raw,
/// --gene-column, --input-kind, --input-target-sum.
inline void add_training_options(CLI::App* app, TrainingArgs& a, const std::string& input_option = "--train") {
    app->add_option(input_option, a.path, "reference cells (.h5ad, 10x, CSV): raw counts or log-normalised values")->required();
    app->add_option("--label-key", a.label_key, "obs column with cell-type labels")->capture_default_str();
    app->add_option("--donor-key", a.donor_key, "obs column with donors")->capture_default_str();
    app->add_option("--tissue-key", a.tissue_key, "obs column with tissues (anchors are donor x tissue x cell type)");
    auto* layer = app->add_option("--layer", a.layer, "take counts from this layer instead of X");
    app->add_flag("--raw", a.raw, "take counts from raw.X")->excludes(layer);
    app->add_option("--gene-column", a.gene_column, "var column with gene symbols (default: automatic)");
    add_input_kind_options(app, a.input);
}

inline std::unique_ptr<TrainingInput> read_training_input(TrainingArgs a, const Console& console) {
    a.threads = console.threads();
    return read_reference_cells(a, console.messages());
}

} // namespace scx::cli
