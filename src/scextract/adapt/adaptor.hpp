#pragma once
/// @file adaptor.hpp
/// @brief Stage 2: the lightweight adaptor ("latent embedding transfer") - a tied linear
/// autoencoder whose latent angles are fitted to a biological ruler.
///
/// For rows f_i (standardised operator features, D columns) with stages s(i):
///
///     z_i = W (f_i - b)                         W: k x D, b: D
///     f_hat_i = W^T z_i + b                     (tied decoder)
///     theta_ij = arccos(clamp(cos(z_i, z_j), -1 + eps, 1 - eps))
///     e_ij = beta * theta_ij - d(s(i), s(j))    beta = exp(log_beta), learnt
///
/// and the objective is a weighted sum of normalised terms (docs/adaptor.md):
///
///     stage          = mean over ordered pairs i != j of e_ij^2
///     local          = mean of e_ij^2 over the ordered pairs i != j with d(s(i), s(j)) <= local_radius
///     reconstruction = mean over rows and features of (f_hat_i - f_i)^2  (= ||.||^2 / D per row)
///     classification = mean over rows of the softmax cross-entropy of a linear stage head on z
///     topology       = mean over ordered pairs of stages s != t present of
///                      (beta * arccos(clamp(cos(m_s, m_t))) - d(s, t))^2, m_s = mean of z_i/|z_i| in stage s
///     compactness    = mean over rows of arccos(clamp(cos(z_i, m_s(i))))^2 (radians)
///
///     loss = w_stage stage + w_local local + w_rec reconstruction + w_cls classification
///          + w_topo topology + w_compact compactness
///
/// With AdaptorNormalisation::sum every "mean" above becomes a plain sum (the paper's
/// literal form); see docs/adaptor.md for how the two relate. The clamp has zero derivative
/// outside [-1 + eps, 1 - eps] (as torch.clamp), so identical directions give no gradient
/// instead of an infinite one.
///
/// Everything is computed in double. Sums over rows are formed per fixed-size chunk of rows
/// and combined in chunk order, so the result is the same bits for any thread count.

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace scx {

using VectorF = Eigen::VectorXf;

/// How the adaptor is trained (METHOD.md, Stage 2).
enum class AdaptorVariant {
    anchor, ///< rows are anchors (group mean profiles), full-batch steps
    cell,   ///< rows are stage-balanced cells, minibatches, with local and classification terms
    hybrid, ///< the cell variant plus the stage-centroid topology and compactness terms
};

/// "anchor", "cell" or "hybrid".
std::string_view adaptor_variant_name(AdaptorVariant variant);
/// Inverse of adaptor_variant_name(); throws scx::UsageError for anything else.
AdaptorVariant parse_adaptor_variant(std::string_view name);

/// Whether the loss terms are means (default) or the paper's literal sums.
enum class AdaptorNormalisation {
    mean, ///< each term is a mean (over pairs, rows x features, rows, ...): weights are scale-free
    sum,  ///< each term is a plain sum, as METHOD.md writes the objective
};

/// Weights of the loss terms. The defaults are the anchor variant's:
/// ruler term 1, reconstruction alpha = 0.1 (METHOD.md; unresolved in the paper), nothing else.
struct AdaptorLossWeights {
    double stage = 1.0;          ///< arc-cosine ruler term over all pairs
    double local = 0.0;          ///< the same term over near pairs only (cell variant: 0.1)
    double reconstruction = 0.1; ///< alpha (cell variant: 0.08)
    double classification = 0.0; ///< softmax stage head on z (cell variant: 0.4)
    double topology = 0.0;       ///< lambda_topo, stage-centroid ruler term (hybrid: 0.05; paper's range 0.005..0.18)
    double compactness = 0.0;    ///< lambda_compact (hybrid: 0; the paper also uses 0.015)
};

/// The objective's options (shared by fitting and by adaptor_loss()).
struct AdaptorLossOptions {
    AdaptorLossWeights weights;
    /// The cosine is clamped to [-1 + eps, 1 - eps] before arccos. 1e-6 keeps the arccos
    /// derivative below 1 / sqrt(2e-6) ~ 707 and limits the angle floor to ~1.4e-3 rad.
    double clamp_eps = 1e-6;
    /// The local term keeps the pairs whose ruler distance is at most this (1: same or adjacent stage).
    double local_radius = 1.0;
    AdaptorNormalisation normalisation = AdaptorNormalisation::mean;
};

/// Options of fit_adaptor(). The member defaults are the anchor variant's; use
/// adaptor_options() for the defaults of the other variants.
struct AdaptorOptions {
    AdaptorVariant variant = AdaptorVariant::anchor; ///< recorded; the fields below carry its defaults
    std::int64_t k = 10;                             ///< latent dimension
    AdaptorLossOptions loss;
    /// Passes over the rows. Anchor variant: 1,000 full-batch Adam steps (with the cosine decay
    /// the loss has settled by then on a few hundred anchors; docs/adaptor.md). Cell: 120 (METHOD.md).
    std::int64_t epochs = 1000;
    /// Rows per Adam step; 0 = all rows (full batch). Cell variants: 896 (METHOD.md). An epoch
    /// is cut into ceil(n / batch_size) batches whose sizes differ by at most one.
    std::int64_t batch_size = 0;
    double learning_rate = 1e-2; ///< Adam step size (for W, b, log_beta and the stage head alike)
    /// Cosine decay of the step size from learning_rate to 0 over all steps (false: constant, as
    /// plain torch.optim.Adam).
    bool cosine_decay = true;
    double adam_beta1 = 0.9;
    double adam_beta2 = 0.999;
    double adam_eps = 1e-8;
    bool learn_bias = true; ///< learn b (initialised to the column means of the rows, ~0 for standardised features)
    /// Initial beta; NaN = the least-squares fit of beta * theta to d on the initial latent
    /// (over up to 1,024 rows, seeded).
    double initial_beta = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t seed = 42; ///< initial W, the beta rows and the minibatch order
    int threads = 0;         ///< <= 0: all; results do not depend on it
};

/// Documented defaults of @p variant:
///  - anchor: weights {stage 1, reconstruction 0.1}, 1,000 full-batch steps;
///  - cell: weights {stage 1, local 0.1, reconstruction 0.08, classification 0.4}, 120 epochs,
///    batch 896;
///  - hybrid: the cell defaults plus topology 0.05 and compactness 0.
AdaptorOptions adaptor_options(AdaptorVariant variant);

/// The trainable parameters, in double. The stage head (head_W: stages x k, head_b: stages)
/// is empty unless the classification weight is non-zero; it only shapes training and is not
/// part of the exported adaptor (Stage 3 fits its own readouts).
struct AdaptorParameters {
    RowMatrixD W;           ///< k x D
    Eigen::VectorXd b;      ///< D
    double log_beta = 0.0;  ///< beta = exp(log_beta)
    RowMatrixD head_W;      ///< stages x k, or 0 x 0
    Eigen::VectorXd head_b; ///< stages, or empty
};

/// The unweighted terms of the objective and their weighted total.
struct AdaptorLossTerms {
    double total = 0;
    double stage = 0;
    double local = 0;
    double reconstruction = 0;
    double classification = 0;
    double topology = 0;
    double compactness = 0;
};

/// What adaptor_loss() returns: the terms, and the gradient of the total with respect to
/// every parameter (same shapes as the parameters).
struct AdaptorLossResult {
    AdaptorLossTerms terms;
    AdaptorParameters gradient;
};

/// The objective and its analytic gradient on all of @p rows at @p parameters.
/// @param rows n x D features (n >= 2)
/// @param stage_of_row n stage indices in [0, stages)
/// @param stage_distance stages x stages ruler distances (core/ruler.hpp: ruler_distances())
/// Throws scx::Error on inconsistent shapes or stage indices.
AdaptorLossResult adaptor_loss(const AdaptorParameters& parameters, const RowMatrixF& rows,
                               const std::vector<std::int64_t>& stage_of_row, const Eigen::MatrixXd& stage_distance,
                               const AdaptorLossOptions& options, int threads = 0);

/// Latent codes and the out-of-distribution signal of rows, from one pass.
struct AdaptorEncoding {
    RowMatrixF z;                 ///< n x k
    VectorF reconstruction_error; ///< n: ||W^T W (f - b) + b - f||^2 / D
};

/// The fitted adaptor: what the algorithm file stores.
struct Adaptor {
    RowMatrixF W; ///< k x D
    VectorF b;    ///< D
    double beta = 1.0;

    [[nodiscard]] std::int64_t k() const { return W.rows(); }
    [[nodiscard]] std::int64_t n_features() const { return W.cols(); }
    /// Trainable parameters of the exported adaptor: k * D + D + 1.
    [[nodiscard]] std::int64_t parameter_count() const { return W.size() + b.size() + 1; }

    /// z = W (f - b) for every row (n x k). Throws scx::Error when f has not D columns.
    [[nodiscard]] RowMatrixF encode(const RowMatrixF& f, int threads = 1) const;
    /// Per row ||W^T W (f - b) + b - f||^2 / D: the out-of-distribution signal.
    [[nodiscard]] VectorF reconstruction_error(const RowMatrixF& f, int threads = 1) const;
    /// encode() and reconstruction_error() together.
    [[nodiscard]] AdaptorEncoding encode_with_error(const RowMatrixF& f, int threads = 1) const;
};

/// What fit_adaptor() returns.
struct AdaptorFitResult {
    Adaptor adaptor;              ///< the parameters in float, ready to export
    AdaptorParameters parameters; ///< the same in double, with the stage head
    /// Total loss per epoch: full batch, the loss before each step; minibatches, the mean of
    /// the batch losses of the epoch (each before its step).
    std::vector<double> loss_history;
    double final_loss = 0; ///< final_terms.total
    /// The terms at the returned parameters: full batch, over all rows; minibatches, the mean
    /// over the batches of the last epoch's partition.
    AdaptorLossTerms final_terms;
    std::int64_t steps = 0; ///< Adam steps taken
};

/// The seeded starting point of fit_adaptor(): W with orthonormal rows (Gram-Schmidt on
/// standard normals from scx::Rng), b = the column means of @p rows, log_beta from
/// options.initial_beta or its least-squares fit, a zero stage head when classification is on.
AdaptorParameters initial_adaptor_parameters(const RowMatrixF& rows, const std::vector<std::int64_t>& stage_of_row,
                                             const Eigen::MatrixXd& stage_distance, const AdaptorOptions& options);

/// Fits the adaptor with Adam from initial_adaptor_parameters().
/// Throws scx::Error on inconsistent inputs (shapes, stage indices, fewer than 2 rows,
/// k < 1, a batch size of 1).
AdaptorFitResult fit_adaptor(const RowMatrixF& rows, const std::vector<std::int64_t>& stage_of_row,
                             const Eigen::MatrixXd& stage_distance, const AdaptorOptions& options);

/// Fits the adaptor with Adam from @p initial (e.g. a previous fit). The stage head is
/// created (zero) when classification is on and @p initial has none.
AdaptorFitResult fit_adaptor(const RowMatrixF& rows, const std::vector<std::int64_t>& stage_of_row,
                             const Eigen::MatrixXd& stage_distance, const AdaptorOptions& options,
                             AdaptorParameters initial);

/// Options of make_anchors().
struct AnchorOptions {
    std::int64_t min_cells = 5; ///< groups with fewer cells are dropped (METHOD.md: >= 5)
    int threads = 0;
};

/// Anchor rows: one mean profile per (group keys..., stage) with enough cells.
struct AnchorSet {
    RowMatrixF rows;                             ///< anchors x D mean features
    std::vector<std::int64_t> stage;             ///< stage of each anchor
    std::vector<std::int64_t> n_cells;           ///< cells averaged into each anchor
    std::vector<std::vector<std::int64_t>> keys; ///< the group codes of each anchor (one per key)
};

/// Averages the cells of every group (a distinct tuple of group_keys codes, e.g. donor x
/// tissue x cell type, together with the cell's stage) into an anchor. Cells with stage < 0
/// (not on the ruler) are skipped. Anchors are in ascending order of (keys..., stage); means
/// are summed in double, cell by cell in index order.
/// @param group_keys one code vector per key, each with a code per cell
AnchorSet make_anchors(const RowMatrixF& features, const std::vector<std::int64_t>& stage_of_cell,
                       const std::vector<std::vector<std::int64_t>>& group_keys, const AnchorOptions& options = {});

/// Stage-balanced rows for the cell variant: every row of a stage with at most
/// @p max_per_stage rows, else a seeded uniform sample of @p max_per_stage of them. Rows with
/// stage < 0 are skipped. Returns row indices in ascending order.
std::vector<std::int64_t> balance_stages(const std::vector<std::int64_t>& stage_of_row,
                                         std::int64_t max_per_stage = 500, std::uint64_t seed = 42);

} // namespace scx
