#pragma once
/// @file bench_runner.hpp
/// @brief Runs methods on identical donor-holdout splits, times them (one-time cache
/// building apart from per-split work), scores the endpoints and compares every method with
/// a reference by paired two-sided Wilcoxon signed-rank tests, over splits (as the paper
/// reports) and over distinct test donors (the honest unit, since splits share donors),
/// with Benjamini-Hochberg across endpoints x comparisons within each unit.

#include "scextract/core/progress.hpp"
#include "scextract/bench/bench_cells.hpp"
#include "scextract/bench/bench_method.hpp"
#include "scextract/bench/split_checkpoint.hpp"
#include "scextract/stats/donor_splits.hpp"
#include "scextract/bench/endpoints.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// A comparison between two methods other than the reference's (a ladder rung against the
/// rung below it, a method against its control). Each kind is its own Benjamini-Hochberg
/// family, so adding rungs or controls never changes the reference comparisons' q-values.
struct BenchPair {
    std::string method, against;
    std::string kind; ///< "ladder" or "control"
};

struct BenchOptions {
    DonorSplitOptions splits;
    std::vector<std::string> endpoints; ///< names; empty: every endpoint the cells support
    std::string reference;              ///< method compared with the others; empty: the first
    std::vector<BenchPair> pairs;       ///< further comparisons (method names must exist)
    EndpointOptions endpoint_options;
    double fdr = 0.05;                  ///< BH q below which a difference is called significant
    std::int64_t figure_split = 0;      ///< split whose test cells the figures show
    std::int64_t figure_points = 1500;  ///< at most this many points per scatter (seeded subsample)
    int threads = 0;
    /// (steps done, steps): one step per method for prepare() and per method x split.
    ProgressCallback progress;
    /// Called with a line of text as each method x split finishes (e.g. for a log).
    std::function<void(const std::string&)> log;
    /// Keeps each finished method x split and reuses kept ones (bench/split_checkpoint.hpp);
    /// null: none. Results are the same bits either way.
    const SplitCheckpoint* checkpoint = nullptr;
};

/// One method's run.
struct BenchMethodRun {
    MethodInfo info;
    double cache_seconds = 0;          ///< prepare()
    std::vector<double> split_seconds; ///< run_split() per split
    std::vector<std::string> split_notes; ///< BenchMethod::split_note() per split (all empty for most methods)
    std::optional<OperatorSize> operator_size; ///< BenchMethod::operator_size(); empty for methods without an operator
    std::vector<SplitScores> scores;   ///< per split
    /// [endpoint][distinct test donor]: mean of the donor's values over the splits holding it out.
    std::vector<std::vector<double>> donor_means;
};

/// A paired comparison of the reference (or a pair's `against`) with one method on one endpoint.
struct BenchComparison {
    std::string reference, method, endpoint;
    std::string kind = "reference"; ///< "reference", or the BenchPair kind; BH runs within (kind, unit)
    std::string unit;   ///< "splits" or "donors"
    std::int64_t n = 0; ///< pairs where both have a value
    double mean_reference = 0, mean_method = 0, median_difference = 0; ///< NaN when n = 0
    double statistic = 0, p = 0, q = 0;                                ///< NaN when not tested
    std::string test;   ///< "exact", "normal", or "none" (no pairs)
    bool significant = false;
};

struct PseudotimeFigure {
    std::string method;
    PseudotimeClass pseudotime_class = PseudotimeClass::supervised;
    std::vector<double> depth, pseudotime;
    std::vector<std::int64_t> branch; ///< true ruler branch per point (index into ruler->branches)
    double spearman = 0; ///< the split's depth_spearman score (donor mean)
};

struct RocFigure {
    std::string method, task;
    std::vector<double> fpr, tpr;
    double auc = 0; ///< over the figure split's test cells pooled
};

struct ManifoldFigure {
    std::string method;
    std::vector<double> x, y;        ///< the first two principal components of the latent
    std::vector<std::int64_t> stage; ///< ruler stage per point
    /// The cell's own label per point, an index into BenchResult::figure_labels.
    std::vector<std::int64_t> label;
    /// Predicted ruler stage per point; empty when the method predicts no stage.
    std::vector<std::int64_t> predicted_stage;
};

/// True against predicted class counts on all test cells of the figure split whose true
/// class is known (cells of unmapped labels are left out).
struct ConfusionFigure {
    std::string method;
    std::string task; ///< "branch" (classes: ruler->branches) or "stage" (ruler->stages)
    /// counts[true][predicted] over every class of the task; a prediction of -1 (none) is
    /// counted in the last column, index n_classes.
    std::vector<std::vector<std::int64_t>> counts;
};

struct BenchResult {
    std::vector<Endpoint> endpoints;
    DonorSplitResult splits;
    std::vector<BenchMethodRun> methods;
    std::string reference;
    std::vector<BenchComparison> comparisons;
    std::int64_t figure_split = 0;
    std::vector<PseudotimeFigure> pseudotime_figures;
    std::vector<RocFigure> roc_figures;
    std::vector<ManifoldFigure> manifold_figures; ///< every method with a latent, in method order
    std::vector<ConfusionFigure> confusion_figures; ///< per method with branch / stage predictions
    std::vector<std::string> figure_labels; ///< distinct cell labels of the manifold points, sorted
};

/// Runs every method on the same splits. Depth comparisons are made only between methods of
/// the same pseudotime class (headline claims compare within a class); a method without an
/// output has not-applicable endpoints and no comparison there. Throws scx::Error when no
/// method is given, the reference or a pair's method is unknown, or a method fails (naming
/// method and split).
BenchResult run_bench(const BenchCells& cells, std::span<const std::unique_ptr<BenchMethod>> methods,
                      const BenchOptions& options);

} // namespace scx
