#pragma once
/// @file metrics.hpp
/// @brief The benchmark's endpoint metrics (AUROC and its curve, balanced accuracy, macro-F1)
/// and the manifold gate's trustworthiness, each as the pinned scikit-learn defines it
/// (python/requirements.txt); tests/fixtures/eval/make_statistics_fixtures.py writes the
/// reference values.

#include "scextract/core/dense.hpp"

#include <cstdint>
#include <vector>

namespace scx {

/// Area under the ROC curve of @p scores for binary @p labels (0 or 1), tied scores counting
/// one half (sklearn.metrics.roc_auc_score). NaN when only one class is present, as sklearn
/// returns (with a warning); the bench reports such an endpoint as not applicable. Throws
/// scx::Error when the lengths differ, the input is empty, a label is not 0 or 1, or a score
/// is not finite.
double auroc(const std::vector<double>& scores, const std::vector<std::int64_t>& labels);

struct RocCurve {
    std::vector<double> fpr;        ///< false positive rate, non-decreasing from 0 to 1
    std::vector<double> tpr;        ///< true positive rate, non-decreasing from 0 to 1
    std::vector<double> thresholds; ///< decreasing; the first is +infinity (nothing predicted positive)
};

/// The ROC curve as sklearn.metrics.roc_curve(labels, scores) with drop_intermediate=True:
/// one point per distinct score, collinear points removed, and (0, 0) at threshold +inf
/// prepended. Point i predicts positive for scores >= thresholds[i]. When only one class is
/// present, fpr (no negatives) or tpr (no positives) is all NaN, as in sklearn. Throws as auroc.
RocCurve roc_curve(const std::vector<double>& scores, const std::vector<std::int64_t>& labels);

/// Mean recall over the classes present in @p truth (sklearn.metrics.balanced_accuracy_score,
/// adjusted=False): a predicted class the truth never has lowers the recall of the classes it
/// was confused with but adds no term. Rows with truth < 0 (unlabelled) are ignored; predicted
/// codes may be any value. Throws scx::Error when the lengths differ or no row is labelled.
double balanced_accuracy(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& truth);

/// Unweighted mean of per-class F1 = 2 TP / (2 TP + FP + FN) over the union of the classes in
/// @p truth and @p predicted (sklearn.metrics.f1_score(average='macro'); a class never
/// predicted, or predicted but never true, scores 0). sklearn's zero_division only applies to a
/// class absent from both, which the union excludes. Rows with truth < 0 are ignored (with
/// their predictions); a negative predicted code on a labelled row is a class of its own, as
/// sklearn would count it. Throws scx::Error when the lengths differ or no row is labelled.
double macro_f1(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& truth);

struct TrustworthinessOptions {
    /// Neighbourhood size; METHOD.md's k = 15 (sklearn's own default is 5). Must satisfy
    /// k < n / 2, as sklearn requires.
    std::int64_t k = 15;
    int threads = 0; ///< <= 0: all available; the result does not depend on it
};

/// Trustworthiness of the embedding @p Z of the rows of @p X (Venna & Kaski;
/// sklearn.manifold.trustworthiness with the euclidean metric):
/// T = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N_k^Z(i)} max(0, r_X(i, j) - k),
/// where r_X(i, j) is the rank of j among i's neighbours in X (1 = nearest). Distances are
/// computed in double; equal distances are ordered by row index. O(n^2 (dX + dZ)) time,
/// O(n) memory per thread. Throws scx::Error when the row counts differ, a value is not
/// finite, or k is not in [1, n / 2).
double trustworthiness(const RowMatrixD& X, const RowMatrixD& Z, const TrustworthinessOptions& options = {});
/// The same for float inputs (the adaptor's latents), widened to double.
double trustworthiness(const RowMatrixF& X, const RowMatrixF& Z, const TrustworthinessOptions& options = {});

} // namespace scx
