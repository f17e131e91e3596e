#pragma once
// A small synthetic benchmark input for the baseline tests: cells of seven stages of the
// default hematopoiesis ruler (plus an unmapped label) from three donors, with stage marker
// genes, so that stage, branch, depth and both default binary tasks are learnable.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/bench/bench_cells.hpp"
#include "scextract/io/ruler_json.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace scx::test {

/// Owns the counts the BenchCells point to (the ruler is the compiled-in default).
struct BaselineTestCells {
    CsrMatrix counts;
    BenchCells cells;
    std::vector<std::int64_t> train, test; ///< donors d0, d1 train; d2 test
};

inline std::unique_ptr<BaselineTestCells> make_baseline_test_cells(std::int64_t n_cells = 280, std::uint64_t seed = 5) {
    const std::vector<std::string> labels_of_group = {"HSC",         "classical_monocyte", "macrophage", "naive_CD4_T",
                                                      "memory_CD4_T", "naive_CD8_T",        "naive_B",    "doublet"};
    const std::int64_t n_genes = 48, markers = 5;
    const auto groups = static_cast<std::int64_t>(labels_of_group.size());
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<double> base(static_cast<std::size_t>(n_genes));
    for (auto& b : base) b = 0.5 + 2.0 * unit(rng);

    auto out = std::make_unique<BaselineTestCells>();
    CsrMatrix& m = out->counts;
    m.n_rows = n_cells;
    m.n_cols = n_genes;
    std::vector<std::string> labels, donors;
    for (std::int64_t i = 0; i < n_cells; ++i) {
        const std::int64_t group = i % groups, donor = (i / groups) % 3;
        labels.push_back(labels_of_group[static_cast<std::size_t>(group)]);
        donors.push_back(fmt::format("d{}", donor));
        const double library = 0.7 + 0.6 * unit(rng);
        for (std::int64_t g = 0; g < n_genes; ++g) {
            double rate = base[static_cast<std::size_t>(g)] * library;
            if (g / markers == group) rate *= 6.0;              // the group's markers
            if (g == 40 + donor) rate *= 2.0;                    // a donor effect
            std::poisson_distribution<int> pois(rate);
            const int c = pois(rng);
            if (c == 0) continue;
            m.values.push_back(static_cast<float>(c));
            m.indices.push_back(static_cast<std::int32_t>(g));
        }
        m.indptr.push_back(static_cast<std::int64_t>(m.values.size()));
    }
    std::vector<std::string> symbols;
    for (std::int64_t g = 0; g < n_genes; ++g) symbols.push_back(fmt::format("G{}", g));
    BenchCellsOptions options;
    options.panel = symbols;
    const auto& ruler = default_hematopoiesis_ruler();
    out->cells = make_bench_cells(m, symbols, ruler, std::string(default_hematopoiesis_ruler_json()), labels, donors, {},
                                  options);
    for (std::int64_t i = 0; i < n_cells; ++i)
        (out->cells.donor[static_cast<std::size_t>(i)] == 2 ? out->test : out->train).push_back(i);
    return out;
}

} // namespace scx::test
