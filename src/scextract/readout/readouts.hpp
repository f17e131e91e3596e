#pragma once
/// @file readouts.hpp
/// @brief Stage 3: linear task readouts on the adaptor's k-D latent - depth regression (the
/// pseudotime), softmax classifiers (branch, stage) and binary classifiers (CD4 vs CD8 T,
/// monocyte vs macrophage).
///
/// The objectives are scikit-learn's, so its estimators are the reference:
///  - ridge: sum_i (y_i - w.z_i - b)^2 + alpha |w|^2, intercept unpenalised (sklearn Ridge(alpha));
///  - logistic: C sum_i s_i loss_i + |W|^2 / 2, intercepts unpenalised, s_i = 1 or the
///    "balanced" class weight n / (classes * n_class) (sklearn LogisticRegression(C) with lbfgs;
///    multinomial cross-entropy for softmax, one weight vector for binary).
/// Fits run in double: ridge in closed form, logistic by L-BFGS to a tight gradient tolerance.
/// Sums over rows are taken per fixed chunk of rows and combined in chunk order, so results
/// do not depend on the thread count.
///
/// Parameter counts on a k-D latent: depth k + 1, binary k + 1, softmax over K classes
/// K (k + 1) (METHOD.md, Stage 3: the paper's 5-170 per task is not reachable on the full
/// latent; docs/adaptor.md).

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace scx {

using VectorF = Eigen::VectorXf;

/// Options of fit_depth_readout().
struct RidgeOptions {
    /// L2 penalty on the weights (not the intercept), on the sum-of-squares scale like
    /// sklearn's Ridge(alpha). 1.0 (sklearn's default) is negligible next to thousands of rows
    /// and only matters for a degenerate latent.
    double alpha = 1.0;
    int threads = 0;
};

/// y ~ w.z + b.
struct LinearRegressionReadout {
    VectorF w; ///< k
    double b = 0;

    /// Prediction per row of @p Z (n x k). Throws scx::Error when Z has not k columns.
    [[nodiscard]] Eigen::VectorXd predict(const RowMatrixF& Z) const;
    [[nodiscard]] std::int64_t parameter_count() const { return w.size() + 1; }
};

/// What fit_depth_readout() returns.
struct DepthReadoutResult {
    LinearRegressionReadout readout;
    std::int64_t n_rows = 0; ///< rows used (finite targets)
    double r_squared = 0;    ///< coefficient of determination on those rows
};

/// Ridge regression of @p y (e.g. ruler depth per cell) on the latent @p Z. Rows whose target
/// is NaN are skipped. Throws scx::Error on a size mismatch, fewer than 2 usable rows or
/// alpha < 0.
DepthReadoutResult fit_depth_readout(const RowMatrixF& Z, const Eigen::VectorXd& y, const RidgeOptions& options = {});

/// Which L-BFGS iterate path the logistic fits take.
enum class LbfgsPath {
    /// Two-loop L-BFGS with a backtracking Armijo search: for fits run to a tight tolerance,
    /// where the path does not matter.
    backtracking,
    /// The path of scipy's L-BFGS-B as scikit-learn's lbfgs solver runs it (scipy.optimize.
    /// minimize with maxls 50, ftol 64 eps, gtol = tolerance; no bounds): first step 1 / |g|,
    /// the Moré-Thuente search (ftol 1e-3, gtol 0.9, xtol 0.1; readout/more_thuente.hpp), the
    /// same curvature-pair rule, memory refresh after a failed search, and stopping on the
    /// largest gradient entry or a relative decrease of at most 64 eps. At a loose tolerance
    /// (sklearn's default 1e-4) a fit stops short of the optimum, and where it stops depends on
    /// the path: this one stops where sklearn's does.
    scipy_lbfgsb
};

/// Options of the logistic fits.
struct LogisticOptions {
    double C = 1.0;                      ///< inverse L2 strength, as sklearn's C (default 1.0)
    bool balanced_class_weights = false; ///< sklearn's class_weight="balanced"
    /// Stop when the largest gradient entry of the mean objective
    /// (sum_i s_i loss_i + |W|^2 / (2C)) / sum_i s_i is at most this.
    double tolerance = 1e-9;
    std::int64_t max_iterations = 1000;
    std::int64_t lbfgs_history = 10; ///< L-BFGS memory
    LbfgsPath path = LbfgsPath::backtracking;
    int threads = 0;
};

/// Softmax over classes: P(class c | z) proportional to exp(W_c.z + b_c).
struct SoftmaxReadout {
    RowMatrixF W;                     ///< classes x k
    VectorF b;                        ///< classes; centred to sum 0 (the softmax ignores a common shift)
    std::vector<std::string> classes; ///< names of the classes, in row order of W

    /// n x classes probabilities.
    [[nodiscard]] RowMatrixF predict_proba(const RowMatrixF& Z) const;
    /// Most probable class per row, as an index into @ref classes (ties: the lowest index).
    [[nodiscard]] std::vector<std::int64_t> predict(const RowMatrixF& Z) const;
    [[nodiscard]] std::int64_t parameter_count() const { return W.size() + b.size(); }
};

/// How the L-BFGS fit ended.
struct LogisticFitInfo {
    std::int64_t n_rows = 0; ///< labelled rows used
    std::int64_t iterations = 0;
    bool converged = false;   ///< the gradient tolerance was met
    double objective = 0;     ///< the mean objective at the solution
    double gradient_norm = 0; ///< its largest gradient entry
};

/// What fit_softmax_readout() returns.
struct SoftmaxReadoutResult {
    SoftmaxReadout readout;
    /// The label code of each readout class: classes without any labelled row are left out
    /// (their optimum is at infinity), so readout.classes[c] = class_names[class_codes[c]].
    std::vector<std::int64_t> class_codes;
    LogisticFitInfo info;
};

/// Multinomial logistic regression of @p labels (codes into @p class_names; -1 = unlabelled,
/// skipped) on @p Z. Throws scx::Error on a size mismatch, a code out of range, C <= 0 or
/// fewer than 2 classes with rows.
SoftmaxReadoutResult fit_softmax_readout(const RowMatrixF& Z, const std::vector<std::int64_t>& labels,
                                         const std::vector<std::string>& class_names,
                                         const LogisticOptions& options = {});

/// P(positive | z) = sigmoid(w.z + b).
struct BinaryReadout {
    VectorF w; ///< k
    double b = 0;
    std::string negative_class; ///< label 0, e.g. "CD4 T"
    std::string positive_class; ///< label 1, e.g. "CD8 T"

    /// P(positive) per row.
    [[nodiscard]] Eigen::VectorXd predict_proba(const RowMatrixF& Z) const;
    /// 1 where P(positive) > @p threshold, else 0.
    [[nodiscard]] std::vector<std::int64_t> predict(const RowMatrixF& Z, double threshold = 0.5) const;
    [[nodiscard]] std::int64_t parameter_count() const { return w.size() + 1; }
};

/// What fit_binary_readout() returns.
struct BinaryReadoutResult {
    BinaryReadout readout;
    LogisticFitInfo info;
};

/// Binary logistic regression of @p labels (0 = class_names[0], 1 = class_names[1],
/// -1 = unlabelled, skipped) on @p Z. Throws scx::Error on a size mismatch, another code,
/// C <= 0 or a class without rows.
BinaryReadoutResult fit_binary_readout(const RowMatrixF& Z, const std::vector<std::int64_t>& labels,
                                       const std::array<std::string, 2>& class_names,
                                       const LogisticOptions& options = {});

/// Several binary logistic regressions on the rows of one @p Z, fitted together: fit j is the
/// fit fit_binary_readout(Z, labels[j], class_names[j], options) makes (same objective, same
/// L-BFGS path, to rounding), but each round of evaluations is one pass over Z for all fits
/// still running (a GEMM instead of one matrix-vector product per fit), which is what makes
/// one-vs-rest over many classes fast (CellTypist). Throws scx::Error as fit_binary_readout()
/// does for any set, and when the two lists differ in length.
std::vector<BinaryReadoutResult> fit_binary_readouts(const RowMatrixF& Z, const std::vector<std::vector<std::int64_t>>& labels,
                                                     const std::vector<std::array<std::string, 2>>& class_names,
                                                     const LogisticOptions& options = {});
/// The same on a double @p Z handed over (moved in: when every row is labelled in some fit it
/// is used in place, without the double copy the float overload makes).
std::vector<BinaryReadoutResult> fit_binary_readouts(RowMatrixD Z, const std::vector<std::vector<std::int64_t>>& labels,
                                                     const std::vector<std::array<std::string, 2>>& class_names,
                                                     const LogisticOptions& options = {});

} // namespace scx
