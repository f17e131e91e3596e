#include "scextract/baselines/mlp_probe.hpp"

#include "scextract/core/eigen_threads.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/core/shuffle.hpp"
#include "scextract/baselines/torch_init.hpp"
#include "scextract/extract/panel_features.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace scx {

namespace {

/// Softmax of each row, stably.
RowMatrixF softmax_rows(const RowMatrixF& logits) {
    RowMatrixF p(logits.rows(), logits.cols());
    for (Eigen::Index i = 0; i < logits.rows(); ++i) {
        const float top = logits.row(i).maxCoeff();
        p.row(i) = (logits.row(i).array() - top).exp();
        p.row(i) /= p.row(i).sum();
    }
    return p;
}

float sigmoid(float z) { return z >= 0.0F ? 1.0F / (1.0F + std::exp(-z)) : std::exp(z) / (1.0F + std::exp(z)); }

void check_targets(const RowMatrixF& x, const ProbeTargets& t) {
    const auto n = x.rows();
    if (t.loss == ProbeLoss::regression) {
        if (t.value.size() != n) throw Error(fmt::format("MLP probe: {} targets for {} rows", t.value.size(), n));
        return;
    }
    if (static_cast<Eigen::Index>(t.label.size()) != n)
        throw Error(fmt::format("MLP probe: {} labels for {} rows", t.label.size(), n));
    const std::int64_t classes = t.loss == ProbeLoss::binary ? 2 : t.n_classes;
    for (const auto y : t.label)
        if (y < 0 || y >= classes) throw Error(fmt::format("MLP probe: label {} outside 0 .. {}", y, classes - 1));
}

} // namespace

RowMatrixF MlpNetwork::forward(const RowMatrixF& x) const {
    RowMatrixF h = x;
    for (std::size_t l = 0; l < weight.size(); ++l) {
        RowMatrixF a = h * weight[l].transpose();
        a.rowwise() += bias[l].transpose();
        if (l + 1 < weight.size()) a = a.cwiseMax(0.0F);
        h = std::move(a);
    }
    return h;
}

std::int64_t MlpNetwork::parameter_count() const {
    std::int64_t n = 0;
    for (std::size_t l = 0; l < weight.size(); ++l) n += weight[l].size() + bias[l].size();
    return n;
}

MlpNetwork init_mlp_network(const std::vector<std::int64_t>& widths, std::uint64_t seed) {
    if (widths.size() < 2) throw Error("MLP probe: at least an input and an output width are needed");
    Rng rng(seed);
    MlpNetwork net;
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
        if (widths[l] < 1 || widths[l + 1] < 1) throw Error("MLP probe: layer widths must be positive");
        net.weight.emplace_back();
        net.bias.emplace_back();
        torch_linear_init(widths[l], widths[l + 1], rng, net.weight.back(), net.bias.back());
    }
    return net;
}

MlpLossAndGradient mlp_loss_and_gradient(const MlpNetwork& network, const RowMatrixF& x, const ProbeTargets& targets) {
    check_targets(x, targets);
    const auto n = x.rows();
    const auto layers = network.weight.size();
    // forward, keeping each layer's input
    std::vector<RowMatrixF> input(layers);
    RowMatrixF h = x;
    for (std::size_t l = 0; l < layers; ++l) {
        input[l] = h;
        RowMatrixF a = h * network.weight[l].transpose();
        a.rowwise() += network.bias[l].transpose();
        if (l + 1 < layers) a = a.cwiseMax(0.0F);
        h = std::move(a);
    }
    // loss and its gradient with respect to the outputs (mean reduction)
    MlpLossAndGradient r;
    RowMatrixF delta(n, h.cols());
    const float inv_n = 1.0F / static_cast<float>(n);
    double loss = 0.0;
    if (targets.loss == ProbeLoss::regression) {
        for (Eigen::Index i = 0; i < n; ++i) {
            const float e = h(i, 0) - static_cast<float>(targets.value(i));
            loss += static_cast<double>(e) * e;
            delta(i, 0) = 2.0F * e * inv_n;
        }
    } else if (targets.loss == ProbeLoss::softmax) {
        const RowMatrixF p = softmax_rows(h);
        delta = p * inv_n;
        for (Eigen::Index i = 0; i < n; ++i) {
            const auto y = targets.label[static_cast<std::size_t>(i)];
            loss -= std::log(static_cast<double>(std::max(p(i, y), 1e-30F)));
            delta(i, y) -= inv_n;
        }
    } else {
        for (Eigen::Index i = 0; i < n; ++i) {
            const float z = h(i, 0), y = static_cast<float>(targets.label[static_cast<std::size_t>(i)]);
            loss += std::max(z, 0.0F) - z * y + std::log1p(std::exp(-std::fabs(z)));
            delta(i, 0) = (sigmoid(z) - y) * inv_n;
        }
    }
    r.loss = loss / static_cast<double>(n);
    // backward
    r.gradient.weight.resize(layers);
    r.gradient.bias.resize(layers);
    for (std::size_t l = layers; l-- > 0;) {
        r.gradient.weight[l] = delta.transpose() * input[l];
        r.gradient.bias[l] = delta.colwise().sum().transpose();
        if (l > 0) {
            RowMatrixF back = delta * network.weight[l];
            // ReLU: the layer's output was input[l]; its gradient passes where it was positive
            back = (input[l].array() > 0.0F).select(back, 0.0F);
            delta = std::move(back);
        }
    }
    return r;
}

RowMatrixF MlpProbe::predict(const RowMatrixF& x) const {
    RowMatrixF z = x;
    if (mean.size() > 0) {
        if (x.cols() != mean.size())
            throw Error(fmt::format("MLP probe: trained on {} features, got {}", mean.size(), x.cols()));
        Standardizer{mean, sd}.apply_in_place(z);
    }
    RowMatrixF out = network.forward(z);
    if (loss == ProbeLoss::regression) return (out.array() * static_cast<float>(target_sd) + static_cast<float>(target_mean)).matrix();
    if (loss == ProbeLoss::softmax) return softmax_rows(out);
    return out.unaryExpr([](float v) { return sigmoid(v); });
}

MlpProbe fit_mlp_probe(const RowMatrixF& x, const ProbeTargets& targets, const MlpProbeOptions& options) {
    const ScopedEigenThreads one_thread(1); // small minibatch products: see core/eigen_threads.hpp
    check_targets(x, targets);
    const auto n = x.rows();
    if (n < 2) throw Error(fmt::format("MLP probe: {} training rows, at least 2 needed", n));
    if (options.epochs < 1 || options.batch_size < 1) throw Error("MLP probe: epochs and batch_size must be positive");
    MlpProbe probe;
    probe.loss = targets.loss;
    RowMatrixF z = x;
    if (options.standardize) {
        const auto s = Standardizer::fit(z);
        probe.mean = s.mean;
        probe.sd = s.sd;
        s.apply_in_place(z);
    }
    ProbeTargets scaled = targets;
    if (targets.loss == ProbeLoss::regression) {
        probe.target_mean = targets.value.mean();
        const double var = (targets.value.array() - probe.target_mean).square().mean();
        probe.target_sd = var > 0.0 ? std::sqrt(var) : 1.0;
        scaled.value = (targets.value.array() - probe.target_mean) / probe.target_sd;
    }
    const std::int64_t outputs = targets.loss == ProbeLoss::softmax ? targets.n_classes : 1;
    std::vector<std::int64_t> widths{x.cols()};
    widths.insert(widths.end(), options.hidden.begin(), options.hidden.end());
    widths.push_back(outputs);
    probe.network = init_mlp_network(widths, options.seed);

    // Adam state
    auto& net = probe.network;
    MlpNetwork m1 = net, m2 = net;
    for (std::size_t l = 0; l < net.weight.size(); ++l) {
        m1.weight[l].setZero(), m1.bias[l].setZero(), m2.weight[l].setZero(), m2.bias[l].setZero();
    }
    Rng rng(options.seed, 1);
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::int64_t step = 0;
    const auto b1 = static_cast<float>(options.beta1), b2 = static_cast<float>(options.beta2);
    for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
        shuffle_in_place(order, rng);
        for (std::int64_t begin = 0; begin < n; begin += options.batch_size) {
            const std::int64_t end = std::min(n, begin + options.batch_size);
            RowMatrixF xb(end - begin, z.cols());
            ProbeTargets tb;
            tb.loss = scaled.loss;
            tb.n_classes = scaled.n_classes;
            if (scaled.loss == ProbeLoss::regression) tb.value.resize(end - begin);
            for (std::int64_t k = begin; k < end; ++k) {
                const auto row = order[static_cast<std::size_t>(k)];
                xb.row(k - begin) = z.row(row);
                if (scaled.loss == ProbeLoss::regression) tb.value(k - begin) = scaled.value(row);
                else tb.label.push_back(scaled.label[static_cast<std::size_t>(row)]);
            }
            const auto g = mlp_loss_and_gradient(net, xb, tb).gradient;
            ++step;
            const auto lr = static_cast<float>(options.learning_rate);
            const auto c1 = 1.0F / (1.0F - std::pow(b1, static_cast<float>(step)));
            const auto c2 = 1.0F / (1.0F - std::pow(b2, static_cast<float>(step)));
            const auto eps = static_cast<float>(options.eps);
            const auto update = [&](auto& p, auto& m, auto& v, const auto& grad) {
                m = b1 * m + (1.0F - b1) * grad;
                v = b2 * v + (1.0F - b2) * grad.cwiseProduct(grad);
                p.array() -= lr * (m.array() * c1) / ((v.array() * c2).sqrt() + eps);
            };
            for (std::size_t l = 0; l < net.weight.size(); ++l) {
                update(net.weight[l], m1.weight[l], m2.weight[l], g.weight[l]);
                update(net.bias[l], m1.bias[l], m2.bias[l], g.bias[l]);
            }
        }
    }
    return probe;
}

} // namespace scx
