#pragma once
/// @file bench_method.hpp
/// @brief The one interface every benchmarked method implements, baselines and the
/// extracted algorithm alike, so all are run and timed the same way.

#include "scextract/core/dense.hpp"
#include "scextract/bench/bench_cells.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// How a method's pseudotime is obtained. Supervised pseudotimes (a depth readout trained
/// on labelled cells) and unsupervised ones (DPT, Palantir) are two classes in every table;
/// headline claims compare within a class.
enum class PseudotimeClass {
    none,        ///< the method gives no pseudotime (e.g. CellTypist)
    supervised,  ///< a readout trained on ruler depth
    unsupervised ///< ordering from the data alone, rooted by a stated rule
};

[[nodiscard]] const char* to_string(PseudotimeClass c);

/// A method's output on the test cells of one split, rows in the order of the test cells
/// passed in. Any part a method does not produce stays empty and its endpoints are
/// reported as not applicable.
struct MethodPrediction {
    RowMatrixF latent;                 ///< test cells x k (for figures and validation)
    Eigen::VectorXd pseudotime;        ///< per test cell
    std::vector<std::int64_t> branch;  ///< predicted index into ruler->branches
    std::vector<std::int64_t> stage;   ///< predicted ruler stage index
    /// Per BenchCells::binary_tasks entry (same order): P(positive) per test cell; an
    /// empty vector for a task the method did not train.
    std::vector<Eigen::VectorXd> binary_scores;
};

/// What a method reports about itself for the report.
struct MethodInfo {
    std::string name;                  ///< short id used in tables, e.g. "pca10"
    std::string description;           ///< one line: what it is and whose defaults it follows
    PseudotimeClass pseudotime = PseudotimeClass::none;
    std::int64_t trainable_parameters = -1; ///< per split, all tasks together; -1 unknown
};

/// The operator a method carries, sized as FeatureOperator counts it, so a compression
/// chain's variants can be set against what they cost to ship.
struct OperatorSize {
    std::int64_t stored_values = 0; ///< FeatureOperator::stored_values()
    double mb = 0;                  ///< FeatureOperator::size_mb(): 4 bytes per stored value
};

/// A benchmarked method. run_split() is called once per split with that split's training
/// and test cells; prepare() once before any split, for work shared by all splits (timed
/// separately as cache building). Implementations must be deterministic given their seed
/// and must not depend on the thread count.
class BenchMethod {
public:
    virtual ~BenchMethod() = default;
    [[nodiscard]] virtual MethodInfo info() const = 0;
    /// One-time work over all cells (e.g. operator features); default: nothing.
    virtual void prepare(const BenchCells& cells, int threads) {
        (void)cells;
        (void)threads;
    }
    /// Fits on @p train (row indices into cells) and predicts @p test. Unsupervised
    /// pseudotime methods may ignore @p train for their pseudotime and run on @p test alone.
    virtual MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                       std::span<const std::int64_t> test, int threads) = 0;
    /// A short note on the last run_split() for the log and results.json (e.g. which
    /// configuration a nested selection chose); default: none.
    [[nodiscard]] virtual std::string split_note() const { return {}; }
    /// The operator the method carries (the extracted algorithm's features); default: none.
    [[nodiscard]] virtual std::optional<OperatorSize> operator_size() const { return std::nullopt; }
};

} // namespace scx
