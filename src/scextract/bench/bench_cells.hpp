#pragma once
/// @file bench_cells.hpp
/// @brief The cells a benchmark runs on, with their ground truth resolved once against the
/// ruler: stage, branch and depth per cell, donor and tissue codes, the binary-task labels
/// and the gene panel every panel-based method shares.
///
/// Every method sees the same BenchCells and the same splits (stats/donor_splits.hpp), so
/// baselines and the extracted algorithm are compared on identical inputs.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/extract/panel_features.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// Labels of one binary task (e.g. CD4 vs CD8 T) for every cell.
struct BinaryTaskLabels {
    std::string name;                       ///< "cd4_cd8", "mono_macro"
    std::string negative_class, positive_class;
    std::vector<std::int8_t> label;         ///< per cell: 0 negative, 1 positive, -1 not in the task
};

/// Benchmark input: raw counts plus everything the endpoints need.
struct BenchCells {
    const CsrMatrix* counts = nullptr;   ///< cells x genes, raw counts (not owned)
    /// counts holds per-cell normalised values (expm1 of log-normalised input,
    /// preprocess/input_values.hpp): raw-count models (scVI) cannot run.
    bool normalized_values = false;
    std::vector<std::string> symbols;    ///< gene symbol per column
    const Ruler* ruler = nullptr;        ///< not owned
    std::string ruler_json;              ///< the ruler as JSON (for the extracted algorithm's file)

    std::vector<std::string> labels;     ///< cell-type label per cell, as in the data
    std::vector<std::int64_t> stage;     ///< ruler stage per cell, -1 when the label is unmapped
    std::vector<std::int64_t> branch;    ///< index into ruler->branches, -1 when unmapped
    std::vector<double> depth;           ///< ruler depth per cell, NaN when unmapped

    std::vector<std::string> donor_names;  ///< distinct donors, sorted
    std::vector<std::int64_t> donor;       ///< per cell, into donor_names
    std::vector<std::string> tissue_names; ///< distinct tissues, sorted (one "" when absent)
    std::vector<std::int64_t> tissue;      ///< per cell, into tissue_names

    std::vector<BinaryTaskLabels> binary_tasks; ///< tasks with at least one cell on each side

    std::vector<std::string> panel;      ///< panel genes shared by panel-based baselines
    PanelMatch panel_match;              ///< panel genes -> columns of counts

    [[nodiscard]] std::int64_t n_cells() const { return static_cast<std::int64_t>(stage.size()); }
};

struct BenchCellsOptions {
    /// Binary tasks defined on ruler stages; a task is kept when both sides have cells.
    std::vector<BinaryTask> binary_tasks = default_binary_tasks();
    /// Panel genes; empty: the @ref panel_size most variable genes (preprocess/hvg.hpp,
    /// seurat_v3 flavour on the raw counts, or seurat on log1p(normalize_total) for normalised
    /// values) of all cells.
    std::vector<std::string> panel;
    std::int64_t panel_size = 1200;
    /// Donors required: two for donor-holdout splits; one where every cell is scored as
    /// held out (interpret, perturb).
    std::int64_t min_donors = 2;
    /// The matrix holds per-cell normalised values, not counts (BenchCells::normalized_values).
    bool normalized_values = false;
    int threads = 0;
};

/// Resolves labels, donors and tissues (tissues may be empty: one tissue). Throws
/// scx::Error on size mismatches, when no label maps to the ruler, or when fewer than
/// options.min_donors donors exist.
BenchCells make_bench_cells(const CsrMatrix& counts, std::vector<std::string> symbols, const Ruler& ruler,
                            std::string ruler_json, std::vector<std::string> labels,
                            const std::vector<std::string>& donors, const std::vector<std::string>& tissues,
                            const BenchCellsOptions& options = {});

/// log1p(normalize_total(counts, 1e4)) of @p rows over the shared panel (the total is taken
/// over all genes first, as in fit and apply).
RowMatrixF bench_panel_expression(const BenchCells& cells, std::span<const std::int64_t> rows, int threads = 0);

/// Raw counts of @p rows over the shared panel (cells x panel genes, dense; genes absent from
/// the data are zero), for count models such as scVI.
RowMatrixF bench_panel_counts(const BenchCells& cells, std::span<const std::int64_t> rows);

} // namespace scx
