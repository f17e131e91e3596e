#pragma once
/// @file celltypist.hpp
/// @brief CellTypist's model fit: the classifier celltypist.train() builds by default
/// (celltypist 1.7.1, train.py) and celltypist.annotate()'s "best match" scoring
/// (classifier.py, models.py). bench/celltypist_method.hpp runs it as a benchmark method.
///
/// What celltypist does by default, and what is done here:
///  - input: log1p(normalize_total(counts, 1e4));
///  - genes whose total over the training cells is 0 are dropped;
///  - StandardScaler(with_mean=True) (population sd; a constant gene gets scale 1), then
///    every value above 10 is set to 10 (only the upper side is clipped); test cells are
///    scaled with the training mean and scale and clipped the same way;
///  - LogisticRegression(C=1.0, multi_class='ovr'): one L2-penalised binary logistic
///    regression per class against the rest, intercept unpenalised; with exactly two
///    classes one weight vector (scores [-s, s]), as sklearn;
///  - solver 'lbfgs' up to 50,000 cells, 'sag' above; max_iter 1000 below 50,000 cells,
///    500 below 500,000, 200 above; sklearn's tol 1e-4;
///  - decision_function = per-class scores, probabilities = expit(scores) per class
///    (independent, not normalised), predicted label = argmax of the scores.
/// Deviations: every size uses L-BFGS (readout/readouts.hpp; sag minimises the same strictly
/// convex objective, so both aim at one optimum); the stopping rule is the same quantity as
/// sklearn's tol (largest gradient entry of the mean objective) but another L-BFGS, so fits
/// agree with scikit-learn to the tolerance, not bitwise; the scaled matrix is float.

#include "scextract/core/dense.hpp"
#include "scextract/readout/readouts.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace scx {

/// celltypist.train()'s defaults.
struct CellTypistOptions {
    double C = 1.0;          ///< inverse L2 strength (celltypist's C)
    bool with_mean = true;   ///< centre in the StandardScaler (celltypist's with_mean)
    double clip_max = 10.0;  ///< scaled values above this are set to it
    /// Stop when the largest gradient entry of the mean objective is at most this:
    /// sklearn's tol (1e-4), which bounds the same quantity in its lbfgs.
    double tolerance = 1e-4;
    /// L-BFGS iterations per class; -1: celltypist's rule on the training cells (1000 below
    /// 50,000, 500 below 500,000, else 200).
    std::int64_t max_iterations = -1;
    int threads = 0;
};

/// A trained CellTypist classifier over the input columns.
struct CellTypistModel {
    std::vector<std::int64_t> features; ///< input columns used (non-zero total in training)
    Eigen::VectorXd mean;               ///< StandardScaler mean_ over features (0 without with_mean)
    Eigen::VectorXd scale;              ///< StandardScaler scale_ over features
    double clip_max = 10.0;
    std::vector<std::int64_t> classes;  ///< label codes, ascending (sklearn's classes_)
    /// Per class (one row when there are two classes: classes[1] against classes[0]) the
    /// weights over @ref features; as sklearn's coef_.
    RowMatrixD coef;
    Eigen::VectorXd intercept;          ///< per row of coef

    /// The rows of @p x (cells x input columns) reduced to the features, scaled and clipped
    /// as celltypist.annotate() does. Throws scx::Error on a column-count mismatch.
    [[nodiscard]] RowMatrixF scaled(const RowMatrixF& x) const;
    /// cells x classes scores; with two classes [-s, s] (celltypist's column_stack).
    [[nodiscard]] RowMatrixD decision_function(const RowMatrixF& x) const;
    /// Most probable class per row (label code; ties: the lowest class).
    [[nodiscard]] std::vector<std::int64_t> predict(const RowMatrixF& x) const;
    /// Weights and intercepts (the scaler's statistics are not counted).
    [[nodiscard]] std::int64_t parameter_count() const { return coef.size() + intercept.size(); }
};

/// What fit_celltypist() returns.
struct CellTypistFitResult {
    CellTypistModel model;
    std::vector<LogisticFitInfo> fits; ///< one per row of coef
};

/// Trains on the rows of @p x (cells x genes, log1p-normalised) with label codes @p labels
/// (>= 0; -1 = left out). Throws scx::Error on a size mismatch, fewer than two classes, C <= 0
/// or no gene with a non-zero total.
CellTypistFitResult fit_celltypist(const RowMatrixF& x, const std::vector<std::int64_t>& labels,
                                   const CellTypistOptions& options = {});

} // namespace scx
