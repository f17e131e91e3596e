/// @file apply_command.cpp
/// @brief `scextract apply`: an algorithm file on new cells, written into a copy of the input.

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <chrono>

#include <fmt/format.h>

namespace scx::cli {

namespace {

/// A categorical obs column from per-cell class names (categories in @p order).
Column categorical_of(const std::vector<std::string>& values, const std::vector<std::string>& order) {
    Categorical c;
    std::vector<std::int32_t> codes;
    codes.reserve(values.size());
    for (const auto& v : values) {
        const auto it = std::find(order.begin(), order.end(), v);
        codes.push_back(it == order.end() ? -1 : static_cast<std::int32_t>(it - order.begin()));
    }
    c.codes = NdArray::from(codes, {static_cast<std::int64_t>(codes.size())});
    c.categories = StringArray{{static_cast<std::int64_t>(order.size())}, order};
    return c;
}

Column doubles(const Eigen::VectorXd& v) {
    return NdArray::from(std::vector<double>(v.data(), v.data() + v.size()), {v.size()});
}

} // namespace

Command add_apply_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string algorithm, input, out, layer, gene_column;
        bool raw = false;
        double max_missing = 0.5;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("apply", "place new cells with an algorithm file (no model needed); writes a copy of the input");
    app->add_option("--algorithm", args->algorithm, "algorithm file from `scextract fit` (.scx)")->required();
    app->add_option("--input", args->input, "cells to annotate (.h5ad, 10x, CSV) with raw counts")->required();
    app->add_option("--out", args->out, "output .h5ad: the input with obsm['X_scx'], obs['scx_*'] and uns['scx']")->required();
    auto* layer = app->add_option("--layer", args->layer, "take counts from this layer instead of X");
    app->add_flag("--raw", args->raw, "take counts from raw.X")->excludes(layer);
    app->add_option("--gene-column", args->gene_column, "var column with gene symbols (default: automatic)");
    app->add_option("--max-missing", args->max_missing, "refuse input missing more than this fraction of the panel")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    return {app, [args, &g](const Console& console) {
                (void)g;
                const auto& a = *args;
                refuse_overwriting_input(a.input, a.out);
                const auto t0 = std::chrono::steady_clock::now();
                const auto algorithm = read_algorithm_file(a.algorithm);
                auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw});
                const auto values = inspect_values(d.matrix, {.threads = console.threads()});
                require_counts(values, fmt::format("{} {}", a.input, d.matrix_source), counts_hint(d, a.layer, a.raw));
                const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, console);
                AlgorithmApplyOptions o;
                o.max_missing_fraction = a.max_missing;
                o.threads = console.threads();
                auto r = [&] {
                    try {
                        return apply_algorithm(algorithm, d.matrix, symbols, o);
                    } catch (const Error& e) {
                        throw Error(fmt::format("{}: {}", a.input, e.what()));
                    }
                }();
                if (!r.panel.missing.empty())
                    console.warn(fmt::format("{} of the algorithm's {} panel genes are absent from {}; they are zero-filled",
                                             r.panel.missing.size(), r.panel.column.size(), a.input));
                H5adAdditions add;
                const auto n = r.latent.rows(), k = r.latent.cols();
                add.obsm.set("X_scx", Element{NdArray::from(std::vector<float>(r.latent.data(), r.latent.data() + r.latent.size()), {n, k})});
                if (r.depth.size() > 0) add.obs_columns.emplace_back("scx_depth", doubles(r.depth));
                if (const auto* ro = algorithm.readout("branch"); ro && !r.branch.empty())
                    add.obs_columns.emplace_back("scx_branch", categorical_of(r.branch, ro->classes));
                if (const auto* ro = algorithm.readout("stage"); ro && !r.stage.empty())
                    add.obs_columns.emplace_back("scx_stage", categorical_of(r.stage, ro->classes));
                for (const auto& [task, p] : r.probabilities) {
                    const auto* ro = algorithm.readout(task);
                    add.obs_columns.emplace_back(fmt::format("scx_p_{}", task), doubles(p));
                    (void)ro;
                }
                const Eigen::VectorXd err = r.reconstruction_error.cast<double>();
                add.obs_columns.emplace_back("scx_recon_error", doubles(err));
                add.obs_columns.emplace_back(
                    "scx_detected_fraction",
                    NdArray::from(r.detected_fraction, {static_cast<std::int64_t>(r.detected_fraction.size())}));
                Mapping prov;
                prov.set("algorithm", Element{StringArray{{}, {a.algorithm}}});
                prov.set("algorithm_provenance", Element{StringArray{{}, {algorithm.provenance_json}}});
                prov.set("features", Element{StringArray{{}, {algorithm.features.description}}});
                prov.set("panel_genes", Element{NdArray::scalar<std::int64_t>(algorithm.features.n_genes())});
                prov.set("panel_genes_missing", Element{NdArray::scalar<std::int64_t>(static_cast<std::int64_t>(r.panel.missing.size()))});
                prov.set("matrix", Element{StringArray{{}, {d.matrix_source}}});
                prov.set("scextract_version", Element{StringArray{{}, {SCX_VERSION}}});
                for (const auto& ro : algorithm.readouts) {
                    if (ro.kind == "binary")
                        prov.set(fmt::format("scx_p_{}", ro.task),
                                 Element{StringArray{{}, {fmt::format("P({} vs {})", ro.classes.at(1), ro.classes.at(0))}}});
                }
                add.uns.set("scx", Element{prov});
                write_dataset_with_additions(a.input, std::move(d), a.out, add);
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                console.info(fmt::format("placed {} cells ({}-D latent) in {:.2f} s; wrote {}", n, k, seconds, a.out));
            }};
}

} // namespace scx::cli
