#pragma once
/// @file panel_features.hpp
/// @brief A cell's panel expression and the standardiser, identical in fitting and
/// applying (METHOD.md, "Cell feature"): x = log1p(normalize_total(counts, 1e4)) with the
/// total taken over all genes before the panel is taken; panel genes absent from the
/// data are zero.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/dense.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// Where each panel gene sits in a dataset's columns.
struct PanelMatch {
    std::vector<std::int64_t> column;  ///< dataset column of panel gene i, -1 when absent
    std::vector<std::string> missing;  ///< panel genes absent from the data, in panel order
    [[nodiscard]] double missing_fraction() const {
        return column.empty() ? 0.0 : static_cast<double>(missing.size()) / static_cast<double>(column.size());
    }
};

/// Matches @p panel to @p data_symbols by exact symbol (the first occurrence wins).
PanelMatch match_panel(const std::vector<std::string>& data_symbols, const std::vector<std::string>& panel);

struct PanelExpressionOptions {
    double target_sum = 1e4; ///< normalize_total target
    int threads = 0;
};

struct PanelExpression {
    RowMatrixF x;                        ///< cells x panel genes, log1p(normalised)
    std::vector<float> detected_fraction; ///< per cell: panel genes with a count > 0, over the panel size
};

/// Panel expression of raw @p counts (cells x dataset genes).
PanelExpression panel_expression(const CsrMatrix& counts, const PanelMatch& match, const PanelExpressionOptions& options = {});

/// Dataset column -> panel position (-1 off the panel) for data of @p n_cols genes: built
/// once per dataset so per-cell work touches only the cell's stored values. Throws
/// scx::Error when a matched column lies outside the data.
std::vector<std::int64_t> panel_position_of_columns(const PanelMatch& match, std::int64_t n_cols);

/// The non-zero panel expression of some cells, sparse over the panel.
struct SparsePanelExpression {
    std::vector<std::int64_t> indptr{0};  ///< per cell, into position / value
    std::vector<std::int32_t> position;    ///< panel position, in the data's column order
    std::vector<float> value;              ///< log1p(normalised), never 0
    std::vector<float> detected_fraction;  ///< as PanelExpression
};

/// Panel expression of rows [begin, end) of raw @p counts, sparse, on the calling thread.
/// The same float operations per panel value as panel_expression() (same bits): the total
/// sums all stored counts, and log1p is taken only of the panel's values.
/// @param panel_of panel_position_of_columns() of the match; @p panel_size its panel's genes
SparsePanelExpression sparse_panel_expression(const CsrMatrix& counts, std::int64_t begin, std::int64_t end,
                                              const std::vector<std::int64_t>& panel_of, std::int64_t panel_size,
                                              double target_sum);

/// Per-feature mean and standard deviation (population, ddof 0) of the training
/// features; constant features get sd 1 so they map to 0.
struct Standardizer {
    Eigen::VectorXf mean, sd;
    /// Fitted on the rows of @p f (column sums in double, row order fixed).
    static Standardizer fit(const RowMatrixF& f);
    void apply_in_place(RowMatrixF& f) const;
};

} // namespace scx
