#pragma once
// A small algorithm fitted on a real file of ../shared/data for the apply and inspect tests:
// an operator file over 200 of its genes (one head: mostly the identity, so features keep
// each gene's identity as a trained model's do, plus a seeded random row-stochastic part),
// fitted with the rank-16 feature operator and a short adaptor run.

#include "scextract/core/random.hpp"
#include "scextract/fit.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/operator_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace scx::test {

/// scanpy's pbmc68k_reduced: 700 cells, 765 genes, raw UMI, cell_type and donor (BSD-3).
inline std::filesystem::path pbmc68k_path() {
    return std::filesystem::path(SCX_SHARED_DATA_DIR) / "scanpy_pbmc68k_reduced" / "scanpy_pbmc68k_reduced.h5ad";
}

inline OperatorSet small_operator_set(const std::vector<std::string>& genes) {
    OperatorSet set;
    set.genes = genes;
    const auto g = static_cast<std::int64_t>(genes.size());
    for (std::int64_t i = 0; i < g; ++i) set.vocab_ids.push_back(i);
    set.n_layers = 1;
    set.n_heads = 1;
    Rng rng(7);
    RowMatrixF a(g, g);
    for (std::int64_t i = 0; i < g; ++i) {
        for (std::int64_t j = 0; j < g; ++j) a(i, j) = static_cast<float>(rng.uniform());
        a.row(i) *= 0.1f / a.row(i).sum();
        a(i, i) += 0.9f;
    }
    set.ops.push_back(a);
    set.provenance.mode = "atlas";
    set.provenance.checkpoint_path = "test/model.pt";
    set.provenance.checkpoint_sha256 = std::string(64, 'a');
    set.provenance.reference_path = pbmc68k_path().string();
    set.provenance.reference_matrix = "X";
    set.provenance.software = "scextract test";
    return set;
}

/// Writes the operator file and fits an algorithm file in @p dir; returns the .scx path.
inline std::string fit_small_algorithm(const std::filesystem::path& dir) {
    DatasetReadOptions read;
    read.metadata_only = true;
    const auto d = read_dataset(pbmc68k_path().string(), read);
    std::vector<std::string> genes(d.var_names.begin(), d.var_names.begin() + 200);
    const auto ops = (dir / "ops.scxop").string();
    write_operator_file(small_operator_set(genes), ops);
    FitFileOptions o;
    o.operator_file = ops;
    o.reference.path = pbmc68k_path().string();
    o.out = (dir / "algo.scx").string();
    o.features.variant = "rank";
    o.features.layer = 0;
    o.features.head = 0;
    o.features.rank = 16;
    o.k = 5;
    o.epochs = 100;
    o.threads = 2;
    fit_file(o);
    return o.out;
}

} // namespace scx::test
