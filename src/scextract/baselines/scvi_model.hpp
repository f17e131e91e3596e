#pragma once
/// @file scvi_model.hpp
/// @brief scVI (Lopez et al. 2018) as scvi-tools 1.4.2's SCVI model builds and trains it by
/// default, written out in Eigen: no PyTorch.
///
/// Architecture (scvi.module.VAE with SCVI's defaults): the encoder reads log1p(counts)
/// through Linear(genes, 128) -> BatchNorm1d(momentum 0.01, eps 1e-3) -> ReLU -> Dropout(0.1),
/// then Linear(128, 10) heads for the mean and (through exp, + 1e-4) the variance of
/// q(z | x); z = mean + sqrt(var) * eps. The decoder maps z through Linear(10, 128) ->
/// BatchNorm1d -> ReLU to a softmax over genes (px_scale) and to zero-inflation logits;
/// the NB mean is library * px_scale with the observed library size (total counts), and the
/// inverse dispersion exp(px_r) is one per gene. Loss per minibatch:
/// mean over cells of [-log ZINB(x) summed over genes + kl_weight * KL(q(z|x) || N(0, I))].
/// Training: Adam (lr 1e-3, eps 0.01, weight decay 1e-6 as torch adds it to the gradient),
/// minibatches of 128 over a seeded 90% training split, max_epochs = min(round(20000 / n *
/// 400), 400), kl_weight = min(1, epoch / 400). No batch covariate (see docs/baselines.md
/// for the donor-holdout policy).

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace scx {

/// Options of train_scvi(); defaults are scvi-tools'.
struct ScviOptions {
    std::int64_t n_hidden = 128;
    std::int64_t n_latent = 10;
    double dropout_rate = 0.1;
    double learning_rate = 1e-3;
    double adam_eps = 0.01;
    double weight_decay = 1e-6;
    std::int64_t batch_size = 128;
    /// 0: scvi-tools' heuristic min(round(20000 / cells * 400), 400) over all the cells with counts
    /// (Python's round, half to even).
    std::int64_t max_epochs = 0;
    std::int64_t n_epochs_kl_warmup = 400;
    double train_size = 0.9; ///< share of cells trained on; the rest is scvi-tools' validation set
    std::uint64_t seed = 0;
    /// Threads for the likelihood (per-count work); the products run on one thread. The
    /// result does not depend on it.
    int threads = 0;
};

/// Every learnt tensor, in torch's layouts (Linear weight is out x in), plus the batch-norm
/// running statistics. Gradients use the same type (running statistics stay empty there).
struct ScviParameters {
    RowMatrixF encoder_weight;  ///< z_encoder.encoder.fc_layers.Layer 0.0.weight, hidden x genes
    Eigen::VectorXf encoder_bias;
    Eigen::VectorXf encoder_bn_weight, encoder_bn_bias, encoder_bn_mean, encoder_bn_var;
    RowMatrixF mean_weight;     ///< z_encoder.mean_encoder, latent x hidden
    Eigen::VectorXf mean_bias;
    RowMatrixF var_weight;      ///< z_encoder.var_encoder, latent x hidden
    Eigen::VectorXf var_bias;
    RowMatrixF decoder_weight;  ///< decoder.px_decoder.fc_layers.Layer 0.0.weight, hidden x latent
    Eigen::VectorXf decoder_bias;
    Eigen::VectorXf decoder_bn_weight, decoder_bn_bias, decoder_bn_mean, decoder_bn_var;
    RowMatrixF scale_weight;    ///< decoder.px_scale_decoder.0, genes x hidden
    Eigen::VectorXf scale_bias;
    RowMatrixF dropout_weight;  ///< decoder.px_dropout_decoder, genes x hidden
    Eigen::VectorXf dropout_bias;
    Eigen::VectorXf px_r;       ///< log inverse dispersion per gene

    /// Learnt numbers (running statistics excluded).
    [[nodiscard]] std::int64_t parameter_count() const;
};

/// torch's initialisation (nn.Linear: uniform +-1/sqrt(fan_in); BatchNorm: weight 1, bias 0,
/// running mean 0, var 1; px_r ~ N(0, 1)) from our seeded generator.
ScviParameters init_scvi_parameters(std::int64_t n_genes, const ScviOptions& options, std::uint64_t seed);

/// The random draws of one training-mode pass, so that a pass can be replayed exactly.
struct ScviNoise {
    RowMatrixF dropout_mask; ///< cells x hidden, 1 kept / 0 dropped (scaled by 1 / (1 - p) when applied)
    RowMatrixF eps;          ///< cells x latent, standard normal
};

/// One training-mode pass (batch statistics in batch norm) and its gradient.
struct ScviPass {
    Eigen::VectorXd reconstruction; ///< per cell: -log ZINB(x), summed over genes
    Eigen::VectorXd kl_z;           ///< per cell: KL(q(z|x) || N(0, I))
    double loss = 0.0;              ///< mean(reconstruction + kl_weight * kl_z)
    RowMatrixF qz_mean, qz_var;
    ScviParameters gradient;
    /// Batch statistics for the running averages: mean and unbiased variance per unit.
    Eigen::VectorXf encoder_batch_mean, encoder_batch_var, decoder_batch_mean, decoder_batch_var;
};

/// The loss of @p counts (cells x genes, raw counts; every cell needs a count) with the
/// draws @p noise, and its gradient with respect to every parameter (backpropagation).
/// Throws scx::Error for mismatched sizes or a cell without counts.
ScviPass scvi_loss_and_gradient(const ScviParameters& p, const RowMatrixF& counts, const ScviNoise& noise,
                                double kl_weight, double dropout_rate, int threads = 0);

/// Eval-mode latent means (running statistics, no dropout): scvi-tools'
/// get_latent_representation(). Rows without counts get NaN.
RowMatrixF scvi_latent_mean(const ScviParameters& p, const RowMatrixF& counts);

/// What train_scvi() returns.
struct ScviTrainResult {
    ScviParameters parameters;
    std::int64_t epochs = 0;
    std::int64_t training_cells = 0;
    std::vector<double> epoch_loss; ///< mean minibatch loss per epoch
};

/// Trains on the rows of @p counts that have counts (cells x genes). Deterministic for a
/// seed. Throws scx::Error for fewer than 3 cells with counts.
ScviTrainResult train_scvi(const RowMatrixF& counts, const ScviOptions& options = {});

} // namespace scx
