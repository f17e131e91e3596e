#pragma once
/// @file torch_init.hpp
/// @brief PyTorch's nn.Linear initialisation (kaiming_uniform with a = sqrt(5)): weight and
/// bias uniform in +-1/sqrt(fan_in), drawn from our seeded generator, for the learned
/// baselines written without PyTorch (the MLP probe, scVI).

#include "scextract/core/dense.hpp"
#include "scextract/core/random.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <cstdint>

namespace scx {

/// A Linear(in, out) layer's weight (out x in, torch's layout), then its bias.
inline void torch_linear_init(std::int64_t in, std::int64_t out, Rng& rng, RowMatrixF& weight, Eigen::VectorXf& bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    weight.resize(out, in);
    for (Eigen::Index i = 0; i < weight.size(); ++i) weight.data()[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    bias.resize(out);
    for (Eigen::Index i = 0; i < bias.size(); ++i) bias(i) = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
}

} // namespace scx
