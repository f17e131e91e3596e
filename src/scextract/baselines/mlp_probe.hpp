#pragma once
/// @file mlp_probe.hpp
/// @brief A multilayer perceptron probe trained on a frozen representation: Linear -> ReLU ->
/// Linear -> ReLU -> Linear (3 layers), with PyTorch's default initialisation, the losses of
/// torch.nn (MSELoss, CrossEntropyLoss, BCEWithLogitsLoss, mean reduction) and torch.optim.Adam.
/// The METHOD.md baseline "frozen scGPT embeddings + a 3-layer MLP probe" uses one per task.

#include "scextract/core/dense.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace scx {

/// What a probe predicts.
enum class ProbeLoss {
    regression, ///< one output, MSELoss on the standardised target
    softmax,    ///< one output per class, CrossEntropyLoss
    binary      ///< one output (the logit of class 1), BCEWithLogitsLoss
};

/// Weights of the network: layer l maps width(l) -> width(l+1), weight[l] is out x in
/// (torch's nn.Linear layout), ReLU between layers, none after the last.
struct MlpNetwork {
    std::vector<RowMatrixF> weight;
    std::vector<Eigen::VectorXf> bias;

    /// Outputs (logits or values) for the rows of @p x, cells x outputs.
    [[nodiscard]] RowMatrixF forward(const RowMatrixF& x) const;
    [[nodiscard]] std::int64_t parameter_count() const;
};

/// PyTorch's nn.Linear initialisation (kaiming_uniform with a = sqrt(5): weights and biases
/// uniform in +-1/sqrt(fan_in)) from our seeded generator, for widths
/// @p widths[0] -> ... -> widths.back().
MlpNetwork init_mlp_network(const std::vector<std::int64_t>& widths, std::uint64_t seed);

/// Targets of a probe: @ref value for regression, @ref label (0 .. n_classes - 1) otherwise.
struct ProbeTargets {
    ProbeLoss loss = ProbeLoss::regression;
    Eigen::VectorXd value;
    std::vector<std::int64_t> label;
    std::int64_t n_classes = 0;
};

/// Mean loss over the rows of @p x and its gradient with respect to every weight and bias
/// (backpropagation, in float as torch's float32 module). Rows with label < 0 are not allowed.
struct MlpLossAndGradient {
    double loss = 0.0;
    MlpNetwork gradient;
};
MlpLossAndGradient mlp_loss_and_gradient(const MlpNetwork& network, const RowMatrixF& x, const ProbeTargets& targets);

/// Options of fit_mlp_probe().
struct MlpProbeOptions {
    std::vector<std::int64_t> hidden = {256, 128}; ///< two hidden layers: 3 linear layers
    double learning_rate = 1e-3;                   ///< torch.optim.Adam defaults
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    std::int64_t epochs = 30;
    std::int64_t batch_size = 128;
    bool standardize = true; ///< z-score the inputs with the training mean and sd
    std::uint64_t seed = 0;
};

/// A trained probe.
struct MlpProbe {
    ProbeLoss loss = ProbeLoss::regression;
    Eigen::VectorXf mean, sd;  ///< input standardisation (empty: none)
    double target_mean = 0.0, target_sd = 1.0; ///< regression target scaling
    MlpNetwork network;

    /// regression: predicted values (cells x 1); softmax: class probabilities (cells x
    /// classes); binary: P(class 1) (cells x 1).
    [[nodiscard]] RowMatrixF predict(const RowMatrixF& x) const;
};

/// Trains a probe with Adam on seeded shuffled minibatches; the result does not depend on
/// the thread count. Throws scx::Error for mismatched sizes, fewer than 2 rows, or labels
/// outside 0 .. n_classes - 1.
MlpProbe fit_mlp_probe(const RowMatrixF& x, const ProbeTargets& targets, const MlpProbeOptions& options = {});

} // namespace scx
