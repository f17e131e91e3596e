#pragma once
/// @file bench_report_figures.hpp
/// @brief The four figures of the benchmark report, each one inline <svg> element:
/// pseudotime against ruler depth, ROC curves, per-split endpoint distributions with
/// significance marks, 2-D views of each method's manifold, and confusion tables.
///
/// A method keeps its colour in every figure (its position in the results' method list).
/// Each function returns an empty string when the results hold no data for the figure.

#include "scextract/report/bench_results_reader.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scx::report {

/// Most points drawn per scatter panel; more are thinned by a fixed stride (deterministic).
inline constexpr std::size_t kMaxScatterPoints = 600;
/// Most cells drawn in the manifold view.
inline constexpr std::size_t kMaxManifoldPoints = 4000;

/// The mark for a comparison's q-value: over splits "*" (q < 0.05) or "**" (q < 0.01);
/// over donors "†" or "††"; empty when not significant or not tested.
[[nodiscard]] std::string significance_mark(std::optional<double> q, ComparisonUnit unit);

/// One panel per figures.pseudotime entry (method order, then split): held-out cells'
/// pseudotime against jittered ruler depth, the median per depth, labelled with the
/// pseudotime class and |Spearman rho|. SVG id "svg-pseudotime".
[[nodiscard]] std::string pseudotime_figure_svg(const Results& results);

/// One panel per binary task, one curve per method and split, a legend with each method's
/// AUC (the mean when several splits are drawn). SVG id "svg-roc".
[[nodiscard]] std::string roc_figure_svg(const Results& results);

/// One panel per endpoint: each method's per-split scores as a box and points, pseudotime
/// endpoints grouped by class, significance marks against the reference (cross-class
/// comparisons are never marked); endpoints without values say "not applicable".
/// SVG id "svg-splits".
[[nodiscard]] std::string split_distribution_figure_svg(const Results& results);

/// What a manifold view's cells are coloured by.
enum class ManifoldColouring {
    label,           ///< the cells' own labels (the data's label column)
    predicted_stage, ///< the method's predicted ruler stage
    true_stage,      ///< the ruler stage the cell's label maps to
};

/// The indices in 0..n_classes-1 that occur in @p cls (negative values are ignored), ascending.
[[nodiscard]] std::vector<std::size_t> present_classes(const std::vector<std::int64_t>& cls, std::size_t n_classes);

/// True when @p view records what @p colouring needs (labels, or predicted stages).
[[nodiscard]] bool manifold_has_colouring(const ManifoldView& view, ManifoldColouring colouring);

/// One method's 2-D manifold view coloured by @p colouring, as an <svg> with id @p id:
/// colours from distinct_palette() over the classes drawn, a legend of those classes only
/// (with the cells drawn per class), cells without a prediction grey. Empty when the view
/// lacks the colouring's data.
[[nodiscard]] std::string manifold_view_svg(const ManifoldView& view, ManifoldColouring colouring, std::string_view id);

/// A true x predicted table (<table class="confusion"> in a scroll container): rows are the
/// true classes with cells, columns the classes predicted or present, then "none" when some
/// cells have no prediction; the caption gives the accuracy. Cells are shaded by their share
/// of the row.
[[nodiscard]] std::string confusion_table_html(const ConfusionView& confusion);

} // namespace scx::report
