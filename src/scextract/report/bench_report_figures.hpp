#pragma once
/// @file bench_report_figures.hpp
/// @brief The four figures of the benchmark report, each one inline <svg> element:
/// pseudotime against ruler depth, ROC curves, per-split endpoint distributions with
/// significance marks, and a 2-D view of the manifold coloured by stage.
///
/// A method keeps its colour in every figure (its position in the results' method list).
/// Each function returns an empty string when the results hold no data for the figure.

#include "scextract/report/bench_results_reader.hpp"

#include <optional>
#include <string>

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

/// The manifold's 2-D view coloured by stage with a legend. SVG id "svg-manifold".
[[nodiscard]] std::string manifold_figure_svg(const Results& results);

} // namespace scx::report
