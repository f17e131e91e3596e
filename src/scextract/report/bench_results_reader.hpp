#pragma once
/// @file bench_results_reader.hpp
/// @brief results.json of `scextract bench` (format "scextract-bench-results" version 1;
/// docs/formats.md; written by bench_results_json.hpp) read back and validated into plain
/// structs, for the report.
///
/// The reader depends on the file format only, not on the runner's in-memory types, so a
/// results file from any scextract writing version 1 renders. Values that do not apply (an
/// endpoint whose labels are absent, a pseudotime endpoint for a method without
/// pseudotime) are empty optionals, never zero.

#include "scextract/bench/bench_method.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace scx::report {

/// The "format" string of a results file.
inline constexpr std::string_view kResultsFormat = "scextract-bench-results";
/// The results-file version this code reads and writes.
inline constexpr int kResultsVersion = 1;

/// True for endpoints scored on a method's pseudotime (depth_spearman), whose rows belong
/// to the method's pseudotime class.
[[nodiscard]] bool is_pseudotime_endpoint(std::string_view endpoint);

struct Dataset {
    std::string path;
    std::int64_t n_cells = 0, n_genes = 0, n_donors = 0, n_tissues = 0;
    std::string label_key, donor_key;
    std::optional<std::string> tissue_key; ///< empty when the data has no tissue column
    std::int64_t panel_genes = 0;
    std::string input_kind = "counts";   ///< absent in older results: counts
    std::string split_unit = "donors";   ///< "donors" or "cell folds" (no donor column, or one donor)
    std::string split_unit_note;         ///< why cell folds stand in for donors; empty with donors
    std::vector<std::pair<std::string, std::int64_t>> unmapped_labels; ///< labels off the ruler, cells each
};

struct Split {
    std::int64_t index = 0;
    std::vector<std::string> test_donors;
    std::int64_t n_train = 0, n_test = 0;
};

struct Splits {
    std::int64_t n = 0, test_donors_per_split = 0;
    std::uint64_t seed = 0;
    std::int64_t max_train_cells = 0;
    std::vector<std::string> distinct_test_donors;
    std::vector<Split> list;
};

struct Method {
    std::string name, description;
    PseudotimeClass pseudotime_class = PseudotimeClass::none;
    std::int64_t trainable_parameters = -1; ///< -1: unknown
    double cache_seconds = 0;               ///< one-off work shared by all splits (e.g. embeddings)
    std::vector<double> split_seconds;      ///< per split, in split order
    double total_seconds = 0;
    /// The operator the method carries (algorithm methods); empty when the file has none,
    /// as in files written before the key existed.
    std::optional<OperatorSize> operator_size;
};

struct Endpoint {
    std::string name, label;
    bool higher_is_better = true;
};

/// A method's score on one endpoint and split: the mean over the split's held-out donors.
struct Score {
    std::string method, endpoint;
    std::int64_t split = 0;
    std::optional<double> value; ///< empty: not applicable
};

/// A method's score for one distinct held-out donor (mean over the splits holding it out).
struct DonorScore {
    std::string method, endpoint, donor;
    std::optional<double> value; ///< empty: not applicable
};

enum class ComparisonUnit { splits, donors };

/// A paired Wilcoxon signed-rank comparison of a method with the reference on one endpoint.
struct Comparison {
    std::string reference, method, endpoint;
    ComparisonUnit unit = ComparisonUnit::splits;
    std::int64_t n = 0; ///< pairs with both values present
    std::optional<double> mean_reference, mean_method, median_difference, statistic, p;
    std::optional<double> q; ///< Benjamini-Hochberg over endpoints x comparisons within the unit
    std::string test;        ///< "exact", "normal" or "none" (not tested)
    bool significant = false; ///< q < 0.05
    /// "reference" (with the run's reference), "ladder" (a rung against the rung it names) or
    /// "control" (a method against its control); BH runs within each kind and unit.
    std::string kind = "reference";
};

/// Held-out cells of one split: ruler depth against the method's pseudotime.
/// In all figure data a null in the file (a non-finite value) reads as NaN and is not drawn.
struct PseudotimePanel {
    std::string method;
    PseudotimeClass pseudotime_class = PseudotimeClass::none;
    std::int64_t split = 0;
    std::vector<double> depth, pseudotime;
    /// True ruler branch per point (index into Figures::branches); empty in files written
    /// before the key existed.
    std::vector<std::int64_t> branch;
    double spearman = 0; ///< signed; the report shows |rho|; NaN when null in the file
};

/// One ROC curve of a binary task.
struct RocLine {
    std::string method, task;
    std::int64_t split = 0;
    std::vector<double> fpr, tpr;
    double auc = 0; ///< NaN when null in the file
};

/// A 2-D view of one method's manifold on one split.
struct ManifoldView {
    std::string method;
    std::int64_t split = 0;
    std::vector<double> x, y;
    std::vector<std::int64_t> stage; ///< true ruler stage, index into stages
    std::vector<std::string> stages;
    /// The cells' own labels (index into labels); empty in files written before the key existed.
    std::vector<std::int64_t> label;
    std::vector<std::string> labels;
    /// Predicted stage (index into stages, -1: none); empty when the method predicts no stage.
    std::vector<std::int64_t> predicted_stage;
};

/// True against predicted class counts of one method on the held-out cells of one split.
struct ConfusionView {
    std::string method;
    std::string task; ///< "branch" or "stage"
    std::int64_t split = 0;
    std::vector<std::string> classes;
    /// counts[true][predicted]: classes.size() rows of classes.size() + 1 columns, the last
    /// counting cells without a prediction.
    std::vector<std::vector<std::int64_t>> counts;
};

struct Figures {
    std::vector<PseudotimePanel> pseudotime;
    std::vector<RocLine> roc;
    /// One view per method with a latent: the file's "manifolds", or its single "manifold"
    /// (the reference's) in files written before "manifolds" existed.
    std::vector<ManifoldView> manifolds;
    /// Empty with confusion_recorded false in files written before the key existed.
    std::vector<ConfusionView> confusion;
    bool confusion_recorded = false;
    std::vector<std::string> branches; ///< the ruler's branches; empty in older files
};

/// A whole results file. Methods and endpoints keep the file's order.
struct Results {
    std::string scextract_version, command;
    nlohmann::json config; ///< the bench configuration, as given
    Dataset dataset;
    Splits splits;
    std::vector<Method> methods;
    std::string reference; ///< the method the others are compared with
    std::vector<Endpoint> endpoints;
    std::vector<Score> scores;
    std::vector<DonorScore> donor_scores;
    std::vector<Comparison> comparisons;
    Figures figures;
    /// From the config: its `fdr` (0.05 when absent), the q below which the compression
    /// chain counts a difference, and `compression_chain` (the table is asked for).
    double fdr = 0.05;
    bool compression_chain = false;

    /// The method named @p name, or nullptr.
    [[nodiscard]] const Method* find_method(std::string_view name) const;
    /// The method's scores on the endpoint, one per score row, in split order (empty
    /// optionals where not applicable).
    [[nodiscard]] std::vector<std::optional<double>> split_scores(std::string_view method,
                                                                  std::string_view endpoint) const;
    /// The comparison of @p method with the reference on the endpoint in the unit, or nullptr.
    [[nodiscard]] const Comparison* find_comparison(std::string_view method, std::string_view endpoint,
                                                         ComparisonUnit unit) const;
    /// True when @p c compares pseudotimes of different classes (supervised against
    /// unsupervised): such a difference is shown but never a headline claim.
    [[nodiscard]] bool across_classes(const Comparison& c) const;
};

/// Per-split scores of a method on an endpoint, summarised as the report shows them.
struct ScoreSummary {
    std::size_t present = 0, total = 0; ///< finite values, and values in all
    double mean = 0, sd = 0;            ///< over the present values; sd with n - 1 (0 for one value)
};

/// Mean and sd of the present, finite values of @p values (e.g. Results::split_scores()).
[[nodiscard]] ScoreSummary summarise_scores(const std::vector<std::optional<double>>& values);

/// Which way the means of @p c lean on @p e: "better" when the method's mean beats its
/// reference's (the run's reference, or a pair's `against`), "worse" when it trails, empty
/// when a mean is missing or the two are equal.
[[nodiscard]] std::string_view comparison_direction(const Comparison& c, const Endpoint& e);

/// Reads and validates a results file already parsed as JSON. Throws scx::Error naming
/// @p source and the first problem by its JSON path ("results.json: missing key
/// 'dataset.n_cells'"): wrong format or version, a missing key, a value of the wrong type,
/// an unknown method or endpoint name, or figure arrays of unequal length.
[[nodiscard]] Results parse_results(const nlohmann::json& results,
                                               std::string_view source = "bench results");

} // namespace scx::report
