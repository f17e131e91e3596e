/// @file pseudotime_command.cpp
/// @brief `scextract pseudotime`: parse, then the library's pseudotime_file() (include/scextract/pseudotime.hpp).

#include "scextract/cli/command.hpp"
#include "scextract/pseudotime.hpp"

#include <fmt/format.h>

namespace scx::cli {

Command add_pseudotime_command(CLI::App& root, GlobalOptions& g) {
    auto a = std::make_shared<PseudotimeFileOptions>();
    auto* app = root.add_subcommand(
        "pseudotime", "scanpy's diffusion pseudotime or Palantir (pseudotime, entropy, fate probabilities) from a root "
                      "cell, as the benchmark's native baselines compute them; writes a copy of the input");
    app->add_option("--method", a->method, "dpt (scanpy's tl.dpt) or palantir")
        ->check(CLI::IsMember({"dpt", "palantir"}))
        ->capture_default_str();
    app->add_option("--input", a->input, "cells (.h5ad, 10x, CSV): raw counts or log-normalised values")->required();
    app->add_option("--out", a->out,
                    "output .h5ad: the input plus obs['dpt_pseudotime'] (dpt) or obs['palantir_pseudotime'], "
                    "obs['palantir_entropy'] and obsm['palantir_fate_probabilities'] (palantir)")
        ->required();
    auto* root_cell = app->add_option("--root", a->root, "root (early) cell, by its obs name");
    auto* root_label = app->add_option("--root-label", a->root_label,
                                       "root by label: the medoid of the cells with this label, in the PCA (or --use-rep) space")
                           ->excludes(root_cell);
    app->add_option("--label-key", a->label_key, "obs column holding --root-label")->needs(root_label);
    app->add_option("--use-rep", a->use_rep, "obsm key of a precomputed embedding (e.g. X_pca): no normalisation, HVGs or PCA");
    auto* layer = app->add_option("--layer", a->layer, "expression from this layer instead of X");
    app->add_flag("--raw", a->raw, "expression from raw.X instead of X")->excludes(layer);
    app->add_option("--input-kind", a->input_kind,
                    "detect: counts are normalize_total(1e4) + log1p'd, log-normalised values used as they are; or "
                    "state counts / lognorm")
        ->check(CLI::IsMember({"detect", "counts", "lognorm"}))
        ->capture_default_str();
    app->add_option("--n-top-genes", a->n_top_genes, "seurat-flavour highly variable genes kept (0: all genes)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app->add_option("--n-pcs", a->n_pcs, "PCA components")->capture_default_str();
    app->add_option("--n-neighbors", a->n_neighbors, "dpt: neighbours (scanpy's pp.neighbors, the cell itself included)")
        ->capture_default_str();
    app->add_option("--n-comps", a->n_comps, "dpt: diffusion components (tl.diffmap)")->capture_default_str();
    app->add_option("--n-dcs", a->n_dcs, "dpt: diffusion components used by tl.dpt")->capture_default_str();
    app->add_option("--knn", a->knn, "palantir: neighbours of the kernel, the pseudotime graph and the Markov chain")
        ->capture_default_str();
    app->add_option("--n-components", a->n_components, "palantir: diffusion components")->capture_default_str();
    app->add_option("--num-waypoints", a->num_waypoints, "palantir: waypoints sampled")->capture_default_str();
    auto* seed = root.get_option("--seed");
    return {app, [a, &g, seed](const Console& console) {
                auto o = *a;
                o.threads = console.threads();
                if (seed->count() > 0) o.seed = g.seed; // else palantir's own default, 20
                const auto r = pseudotime_file(o, console.messages());
                console.info(fmt::format("{} on {} cells ({}), root {} (row {}){}{}", o.method, r.cells, r.representation, r.root,
                                         r.root_index, r.start_cell.empty() ? "" : fmt::format(", start cell {}", r.start_cell),
                                         o.method == "palantir" ? fmt::format(", {} terminal states: {}", r.terminal_states.size(),
                                                                              fmt::join(r.terminal_states, ", "))
                                                                : std::string()));
                console.info(fmt::format("wrote {} in {:.2f} s", o.out, r.seconds));
            }};
}

} // namespace scx::cli
