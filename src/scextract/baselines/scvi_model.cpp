#include "scextract/baselines/scvi_model.hpp"

#include "scextract/core/eigen_threads.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/random.hpp"
#include "scextract/core/shuffle.hpp"
#include "scextract/baselines/torch_init.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr float kBnEps = 1e-3F;      // BatchNorm1d(eps=0.001)
constexpr float kBnMomentum = 0.01F; // BatchNorm1d(momentum=0.01)
constexpr float kVarEps = 1e-4F;     // Encoder(var_eps=1e-4)
constexpr double kZinbEps = 1e-8;    // log_zinb_positive(eps=1e-8)

double softplus(double v) { return v > 0.0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); }
double sigmoid(double v) { return v >= 0.0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v)); }

/// digamma by recurrence up to 6 and the asymptotic series (error < 1e-12 for x > 0).
double digamma(double x) {
    double r = 0.0;
    while (x < 6.0) {
        r -= 1.0 / x;
        x += 1.0;
    }
    const double f = 1.0 / (x * x);
    return r + std::log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

constexpr std::int64_t kZinbChunk = 16;   // rows per task of the likelihood loop
constexpr int kSmallCount = 32;           // integer counts up to this use finite products

/// log(x!) for integer x < 1024, else lgamma(x + 1).
double log_factorial(double x) {
    static const std::vector<double> table = [] {
        std::vector<double> t(1024);
        for (std::size_t k = 0; k < t.size(); ++k) t[k] = std::lgamma(static_cast<double>(k) + 1.0);
        return t;
    }();
    return (x < 1024.0 && x == std::floor(x)) ? table[static_cast<std::size_t>(x)] : std::lgamma(x + 1.0);
}

/// lgamma(x + theta) - lgamma(theta) and digamma(x + theta) - digamma(theta). For a small
/// integer x, by Gamma(theta + x) = theta (theta + 1) ... (theta + x - 1) Gamma(theta): one
/// log and x divisions instead of two lgamma and two digamma calls (the likelihood's cost).
void gamma_differences(double x, double theta, double& log_ratio, double& digamma_difference) {
    if (x <= kSmallCount && x == std::floor(x) && theta < 1e6) {
        double product = 1.0, sum = 0.0;
        for (int k = 0; k < static_cast<int>(x); ++k) {
            product *= theta + k;
            sum += 1.0 / (theta + k);
        }
        log_ratio = std::log(product);
        digamma_difference = sum;
        return;
    }
    log_ratio = std::lgamma(x + theta) - std::lgamma(theta);
    digamma_difference = digamma(x + theta) - digamma(theta);
}

/// One count's ZINB log-likelihood (scvi's log_zinb_positive, eps 1e-8) and its derivatives
/// with respect to the mean, the inverse dispersion and the zero-inflation logit.
struct ZinbTerms {
    double ll = 0.0, d_mu = 0.0, d_theta = 0.0, d_pi = 0.0;
};

ZinbTerms zinb_terms(double x, double mu, double th, double pij) {
    const double sp_neg_pi = softplus(-pij);
    const double log_th = std::log(th + kZinbEps), log_th_mu = std::log(th + mu + kZinbEps);
    const double pt = -pij + th * (log_th - log_th_mu);
    const double dpt_dth = (log_th - log_th_mu) + th * (1.0 / (th + kZinbEps) - 1.0 / (th + mu + kZinbEps));
    const double dpt_dmu = -th / (th + mu + kZinbEps);
    ZinbTerms t;
    if (x < kZinbEps) {
        t.ll = softplus(pt) - sp_neg_pi;
        const double s = sigmoid(pt);
        t.d_pi = -s + sigmoid(-pij);
        t.d_mu = s * dpt_dmu;
        t.d_theta = s * dpt_dth;
    } else if (x > kZinbEps) {
        double log_ratio = 0.0, digamma_difference = 0.0;
        gamma_differences(x, th, log_ratio, digamma_difference);
        t.ll = -sp_neg_pi + pt + x * (std::log(mu + kZinbEps) - log_th_mu) + log_ratio - log_factorial(x);
        t.d_pi = sigmoid(-pij) - 1.0;
        t.d_mu = dpt_dmu + x * (1.0 / (mu + kZinbEps) - 1.0 / (th + mu + kZinbEps));
        t.d_theta = dpt_dth - x / (th + mu + kZinbEps) + digamma_difference;
    }
    return t;
}

RowMatrixF linear(const RowMatrixF& x, const RowMatrixF& w, const Eigen::VectorXf& b) {
    RowMatrixF out = x * w.transpose();
    out.rowwise() += b.transpose();
    return out;
}

/// Batch norm in training mode: normalised values, and the batch mean / biased variance.
struct BatchNormForward {
    RowMatrixF normalized; ///< (a - mean) / sqrt(var + eps)
    Eigen::VectorXf mean, var, inv_std;
};

BatchNormForward batch_norm_train(const RowMatrixF& a) {
    BatchNormForward f;
    const auto n = static_cast<float>(a.rows());
    f.mean = a.colwise().mean().transpose();
    f.normalized = a.rowwise() - f.mean.transpose();
    f.var = f.normalized.array().square().colwise().sum().transpose() / n;
    f.inv_std = (f.var.array() + kBnEps).rsqrt();
    f.normalized = f.normalized.array().rowwise() * f.inv_std.transpose().array();
    return f;
}

/// Gradient through training-mode batch norm: d loss / d a from d loss / d normalized.
RowMatrixF batch_norm_backward(const RowMatrixF& d_norm, const BatchNormForward& f) {
    const auto n = static_cast<float>(d_norm.rows());
    const Eigen::RowVectorXf sum_d = d_norm.colwise().sum();
    const Eigen::RowVectorXf sum_dx = (d_norm.array() * f.normalized.array()).colwise().sum();
    RowMatrixF d = (d_norm * n).rowwise() - sum_d;
    d -= (f.normalized.array().rowwise() * sum_dx.array()).matrix();
    d = d.array().rowwise() * (f.inv_std.transpose().array() / n);
    return d;
}

RowMatrixF affine(const RowMatrixF& x, const Eigen::VectorXf& gamma, const Eigen::VectorXf& beta) {
    RowMatrixF out = x.array().rowwise() * gamma.transpose().array();
    out.rowwise() += beta.transpose();
    return out;
}

/// Calls @p fn(parameter, gradient-or-state) for every learnt tensor of @p a and @p b.
template <class Fn>
void for_each_tensor(ScviParameters& a, ScviParameters& b, Fn&& fn) {
    fn(a.encoder_weight, b.encoder_weight);
    fn(a.encoder_bias, b.encoder_bias);
    fn(a.encoder_bn_weight, b.encoder_bn_weight);
    fn(a.encoder_bn_bias, b.encoder_bn_bias);
    fn(a.mean_weight, b.mean_weight);
    fn(a.mean_bias, b.mean_bias);
    fn(a.var_weight, b.var_weight);
    fn(a.var_bias, b.var_bias);
    fn(a.decoder_weight, b.decoder_weight);
    fn(a.decoder_bias, b.decoder_bias);
    fn(a.decoder_bn_weight, b.decoder_bn_weight);
    fn(a.decoder_bn_bias, b.decoder_bn_bias);
    fn(a.scale_weight, b.scale_weight);
    fn(a.scale_bias, b.scale_bias);
    fn(a.dropout_weight, b.dropout_weight);
    fn(a.dropout_bias, b.dropout_bias);
    fn(a.px_r, b.px_r);
}

/// Zeros shaped like every learnt tensor of @p p (running statistics left empty).
ScviParameters zeros_like(const ScviParameters& p) {
    ScviParameters g = p;
    for_each_tensor(g, g, [](auto& a, auto&) { a.setZero(); });
    g.encoder_bn_mean.resize(0), g.encoder_bn_var.resize(0), g.decoder_bn_mean.resize(0), g.decoder_bn_var.resize(0);
    return g;
}

Eigen::VectorXf library_of(const RowMatrixF& counts, bool throw_on_empty) {
    Eigen::VectorXf lib(counts.rows());
    for (Eigen::Index i = 0; i < counts.rows(); ++i) {
        const double total = counts.row(i).cast<double>().sum();
        if (!(total > 0.0) && throw_on_empty) throw Error(fmt::format("scVI: cell {} has no counts", i));
        lib(i) = static_cast<float>(std::log(total));
    }
    return lib;
}

} // namespace

std::int64_t ScviParameters::parameter_count() const {
    return encoder_weight.size() + encoder_bias.size() + encoder_bn_weight.size() + encoder_bn_bias.size() +
           mean_weight.size() + mean_bias.size() + var_weight.size() + var_bias.size() + decoder_weight.size() +
           decoder_bias.size() + decoder_bn_weight.size() + decoder_bn_bias.size() + scale_weight.size() +
           scale_bias.size() + dropout_weight.size() + dropout_bias.size() + px_r.size();
}

ScviParameters init_scvi_parameters(std::int64_t n_genes, const ScviOptions& o, std::uint64_t seed) {
    if (n_genes < 1 || o.n_hidden < 1 || o.n_latent < 1) throw Error("scVI: genes, hidden and latent sizes must be positive");
    Rng rng(seed);
    const auto g = n_genes, h = o.n_hidden, k = o.n_latent;
    ScviParameters p;
    torch_linear_init(g, h, rng, p.encoder_weight, p.encoder_bias);
    p.encoder_bn_weight = Eigen::VectorXf::Ones(h);
    p.encoder_bn_bias = Eigen::VectorXf::Zero(h);
    p.encoder_bn_mean = Eigen::VectorXf::Zero(h);
    p.encoder_bn_var = Eigen::VectorXf::Ones(h);
    torch_linear_init(h, k, rng, p.mean_weight, p.mean_bias);
    torch_linear_init(h, k, rng, p.var_weight, p.var_bias);
    torch_linear_init(k, h, rng, p.decoder_weight, p.decoder_bias);
    p.decoder_bn_weight = Eigen::VectorXf::Ones(h);
    p.decoder_bn_bias = Eigen::VectorXf::Zero(h);
    p.decoder_bn_mean = Eigen::VectorXf::Zero(h);
    p.decoder_bn_var = Eigen::VectorXf::Ones(h);
    torch_linear_init(h, g, rng, p.scale_weight, p.scale_bias);
    torch_linear_init(h, g, rng, p.dropout_weight, p.dropout_bias);
    p.px_r.resize(g);
    for (Eigen::Index i = 0; i < g; ++i) p.px_r(i) = static_cast<float>(rng.normal());
    return p;
}

ScviPass scvi_loss_and_gradient(const ScviParameters& p, const RowMatrixF& counts, const ScviNoise& noise,
                                double kl_weight, double dropout_rate, int threads) {
    const auto n = counts.rows(), g = counts.cols(), h = p.encoder_weight.rows(), k = p.mean_weight.rows();
    if (g != p.encoder_weight.cols())
        throw Error(fmt::format("scVI: the model has {} genes, the counts {}", p.encoder_weight.cols(), g));
    if (noise.dropout_mask.rows() != n || noise.dropout_mask.cols() != h || noise.eps.rows() != n || noise.eps.cols() != k)
        throw Error("scVI: the noise does not match the batch");
    if (n < 2) throw Error("scVI: batch norm needs at least 2 cells in a batch");
    const Eigen::VectorXf lib = library_of(counts, true);

    // encoder
    const RowMatrixF x_log = counts.array().log1p().matrix();
    const auto bn1 = batch_norm_train(linear(x_log, p.encoder_weight, p.encoder_bias));
    const RowMatrixF pre1 = affine(bn1.normalized, p.encoder_bn_weight, p.encoder_bn_bias);
    const auto keep = static_cast<float>(1.0 / (1.0 - dropout_rate));
    const RowMatrixF h1 = (pre1.array().max(0.0F) * noise.dropout_mask.array() * keep).matrix();
    const RowMatrixF qm = linear(h1, p.mean_weight, p.mean_bias);
    const RowMatrixF qv_raw = linear(h1, p.var_weight, p.var_bias);
    const RowMatrixF qv = (qv_raw.array().exp() + kVarEps).matrix();
    const RowMatrixF sd = qv.array().sqrt().matrix();
    const RowMatrixF z = (qm.array() + sd.array() * noise.eps.array()).matrix();

    // decoder
    const auto bn2 = batch_norm_train(linear(z, p.decoder_weight, p.decoder_bias));
    const RowMatrixF pre2 = affine(bn2.normalized, p.decoder_bn_weight, p.decoder_bn_bias);
    const RowMatrixF h2 = pre2.cwiseMax(0.0F);
    RowMatrixF scale = linear(h2, p.scale_weight, p.scale_bias);
    for (Eigen::Index i = 0; i < n; ++i) { // softmax over genes
        scale.row(i).array() -= scale.row(i).maxCoeff();
        scale.row(i) = scale.row(i).array().exp().matrix();
        scale.row(i) /= scale.row(i).sum();
    }
    const RowMatrixF pi = linear(h2, p.dropout_weight, p.dropout_bias);
    const Eigen::VectorXf theta = p.px_r.array().exp();

    // ZINB log-likelihood (scvi's log_zinb_positive) and its derivatives, per element, in
    // double; rows in fixed chunks, each chunk's theta gradient summed in chunk order, so the
    // result does not depend on the thread count
    ScviPass r;
    r.reconstruction = Eigen::VectorXd::Zero(n);
    RowMatrixF d_scale(n, g), d_pi(n, g);
    const double inv_n = 1.0 / static_cast<double>(n);
    const std::int64_t n_chunks = chunk_count(n, kZinbChunk);
    Eigen::MatrixXd d_theta_chunk = Eigen::MatrixXd::Zero(g, n_chunks);
    parallel_for(n, kZinbChunk, threads, [&](std::int64_t chunk, std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const double size = std::exp(static_cast<double>(lib(i)));
            for (Eigen::Index j = 0; j < g; ++j) {
                const auto t = zinb_terms(counts(i, j), size * static_cast<double>(scale(i, j)), theta(j), pi(i, j));
                r.reconstruction(i) -= t.ll;
                // d loss / d ll = -1 / n
                d_pi(i, j) = static_cast<float>(-inv_n * t.d_pi);
                d_scale(i, j) = static_cast<float>(-inv_n * t.d_mu * size);
                d_theta_chunk(j, chunk) -= inv_n * t.d_theta;
            }
        }
    });
    const Eigen::VectorXd d_theta = d_theta_chunk.rowwise().sum();
    r.kl_z = 0.5 * (qv.array() + qm.array().square() - 1.0F - qv.array().log()).cast<double>().rowwise().sum();
    r.loss = (r.reconstruction + kl_weight * r.kl_z).mean();
    r.qz_mean = qm;
    r.qz_var = qv;

    // backward: decoder heads
    auto& gr = r.gradient;
    gr = zeros_like(p);
    gr.px_r = (d_theta.array() * theta.cast<double>().array()).cast<float>();
    RowMatrixF d_logits(n, g); // softmax backward
    for (Eigen::Index i = 0; i < n; ++i) {
        const float dot = scale.row(i).dot(d_scale.row(i));
        d_logits.row(i) = scale.row(i).array() * (d_scale.row(i).array() - dot);
    }
    gr.scale_weight = d_logits.transpose() * h2;
    gr.scale_bias = d_logits.colwise().sum().transpose();
    gr.dropout_weight = d_pi.transpose() * h2;
    gr.dropout_bias = d_pi.colwise().sum().transpose();
    RowMatrixF d_h2 = d_logits * p.scale_weight + d_pi * p.dropout_weight;
    const RowMatrixF d_pre2 = (pre2.array() > 0.0F).select(d_h2, 0.0F);
    gr.decoder_bn_weight = (d_pre2.array() * bn2.normalized.array()).colwise().sum().transpose();
    gr.decoder_bn_bias = d_pre2.colwise().sum().transpose();
    const RowMatrixF d_a2 = batch_norm_backward(d_pre2.array().rowwise() * p.decoder_bn_weight.transpose().array(), bn2);
    gr.decoder_weight = d_a2.transpose() * z;
    gr.decoder_bias = d_a2.colwise().sum().transpose();
    const RowMatrixF d_z = d_a2 * p.decoder_weight;

    // latent: reparameterisation and KL
    const auto w = static_cast<float>(kl_weight * inv_n);
    const RowMatrixF d_qm = d_z + w * qm;
    const RowMatrixF d_qv = (d_z.array() * noise.eps.array() / (2.0F * sd.array()) + w * 0.5F * (1.0F - qv.array().inverse())).matrix();
    const RowMatrixF d_qv_raw = (d_qv.array() * qv_raw.array().exp()).matrix();
    gr.mean_weight = d_qm.transpose() * h1;
    gr.mean_bias = d_qm.colwise().sum().transpose();
    gr.var_weight = d_qv_raw.transpose() * h1;
    gr.var_bias = d_qv_raw.colwise().sum().transpose();
    const RowMatrixF d_h1 = d_qm * p.mean_weight + d_qv_raw * p.var_weight;

    // encoder
    const RowMatrixF d_pre1 = ((pre1.array() > 0.0F).select(d_h1.array() * noise.dropout_mask.array() * keep, 0.0F)).matrix();
    gr.encoder_bn_weight = (d_pre1.array() * bn1.normalized.array()).colwise().sum().transpose();
    gr.encoder_bn_bias = d_pre1.colwise().sum().transpose();
    const RowMatrixF d_a1 = batch_norm_backward(d_pre1.array().rowwise() * p.encoder_bn_weight.transpose().array(), bn1);
    gr.encoder_weight = d_a1.transpose() * x_log;
    gr.encoder_bias = d_a1.colwise().sum().transpose();

    const float unbias = static_cast<float>(n) / static_cast<float>(n - 1);
    r.encoder_batch_mean = bn1.mean;
    r.encoder_batch_var = bn1.var * unbias;
    r.decoder_batch_mean = bn2.mean;
    r.decoder_batch_var = bn2.var * unbias;
    return r;
}

RowMatrixF scvi_latent_mean(const ScviParameters& p, const RowMatrixF& counts) {
    if (counts.cols() != p.encoder_weight.cols())
        throw Error(fmt::format("scVI: the model has {} genes, the counts {}", p.encoder_weight.cols(), counts.cols()));
    const RowMatrixF x_log = counts.array().log1p().matrix();
    RowMatrixF a = linear(x_log, p.encoder_weight, p.encoder_bias);
    const Eigen::VectorXf inv_std = (p.encoder_bn_var.array() + kBnEps).rsqrt();
    a = (a.rowwise() - p.encoder_bn_mean.transpose()).array().rowwise() * inv_std.transpose().array();
    const RowMatrixF h1 = affine(a, p.encoder_bn_weight, p.encoder_bn_bias).cwiseMax(0.0F);
    RowMatrixF qm = linear(h1, p.mean_weight, p.mean_bias);
    const Eigen::VectorXf lib = library_of(counts, false);
    for (Eigen::Index i = 0; i < counts.rows(); ++i)
        if (!std::isfinite(lib(i))) qm.row(i).setConstant(std::numeric_limits<float>::quiet_NaN());
    return qm;
}

ScviTrainResult train_scvi(const RowMatrixF& counts, const ScviOptions& o) {
    const ScopedEigenThreads one_thread(1); // small minibatch products: see core/eigen_threads.hpp
    std::vector<std::int64_t> usable;
    for (Eigen::Index i = 0; i < counts.rows(); ++i)
        if (counts.row(i).cast<double>().sum() > 0.0) usable.push_back(i);
    const auto n = static_cast<std::int64_t>(usable.size());
    if (n < 3) throw Error(fmt::format("scVI: {} cells with counts, at least 3 needed", n));
    if (o.batch_size < 2) throw Error("scVI: batch_size must be at least 2 (batch norm)");
    ScviTrainResult result;
    // scvi-tools' DataSplitter: a seeded permutation, the first train_size share trains
    Rng split_rng(o.seed, 2);
    shuffle_in_place(usable, split_rng);
    auto n_train = std::max<std::int64_t>(2, static_cast<std::int64_t>(std::ceil(o.train_size * static_cast<double>(n))));
    // scvi-tools' validate_data_split: a last minibatch of 1 or 2 cells would break batch
    // norm, so (with train_size left at its default, as here) those cells go to the validation
    // side for good
    if (const auto rest = n_train % o.batch_size; rest > 0 && rest < 3 && n_train > rest) n_train -= rest;
    std::vector<std::int64_t> train(usable.begin(), usable.begin() + std::min(n, n_train));
    result.training_cells = static_cast<std::int64_t>(train.size());
    const std::int64_t epochs = o.max_epochs > 0
                                    ? o.max_epochs
                                    : std::max<std::int64_t>(1, std::min<std::int64_t>(
                                                                    static_cast<std::int64_t>(std::nearbyint(20000.0 / static_cast<double>(n) * 400.0)), 400)); // Python's round: half to even
    result.epochs = epochs;

    auto& p = result.parameters;
    p = init_scvi_parameters(counts.cols(), o, o.seed);
    ScviParameters m1 = zeros_like(p), m2 = zeros_like(p);
    Rng rng(o.seed, 1);
    std::int64_t step = 0;
    const auto h = o.n_hidden, k = o.n_latent;
    for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
        const double kl_weight = std::min(1.0, static_cast<double>(epoch) / static_cast<double>(o.n_epochs_kl_warmup));
        shuffle_in_place(train, rng);
        double loss_sum = 0.0;
        std::int64_t batches = 0;
        for (std::size_t begin = 0; begin < train.size(); begin += static_cast<std::size_t>(o.batch_size)) {
            const auto end = std::min(train.size(), begin + static_cast<std::size_t>(o.batch_size));
            if (end - begin < 2) continue; // batch norm cannot train on one cell (scvi-tools avoids such batches too)
            const auto b = static_cast<Eigen::Index>(end - begin);
            RowMatrixF xb(b, counts.cols());
            for (Eigen::Index i = 0; i < b; ++i) xb.row(i) = counts.row(train[begin + static_cast<std::size_t>(i)]);
            ScviNoise noise{RowMatrixF(b, h), RowMatrixF(b, k)};
            for (Eigen::Index i = 0; i < noise.dropout_mask.size(); ++i)
                noise.dropout_mask.data()[i] = rng.uniform() < o.dropout_rate ? 0.0F : 1.0F;
            for (Eigen::Index i = 0; i < noise.eps.size(); ++i) noise.eps.data()[i] = static_cast<float>(rng.normal());
            auto pass = scvi_loss_and_gradient(p, xb, noise, kl_weight, o.dropout_rate, o.threads);
            loss_sum += pass.loss;
            ++batches;
            // running statistics (torch: running = (1 - momentum) running + momentum batch)
            p.encoder_bn_mean = (1.0F - kBnMomentum) * p.encoder_bn_mean + kBnMomentum * pass.encoder_batch_mean;
            p.encoder_bn_var = (1.0F - kBnMomentum) * p.encoder_bn_var + kBnMomentum * pass.encoder_batch_var;
            p.decoder_bn_mean = (1.0F - kBnMomentum) * p.decoder_bn_mean + kBnMomentum * pass.decoder_batch_mean;
            p.decoder_bn_var = (1.0F - kBnMomentum) * p.decoder_bn_var + kBnMomentum * pass.decoder_batch_var;
            // Adam with L2 weight decay added to the gradient (torch.optim.Adam)
            ++step;
            const auto lr = static_cast<float>(o.learning_rate), eps = static_cast<float>(o.adam_eps);
            const auto wd = static_cast<float>(o.weight_decay);
            const float c1 = 1.0F / (1.0F - std::pow(0.9F, static_cast<float>(step)));
            const float c2 = 1.0F / (1.0F - std::pow(0.999F, static_cast<float>(step)));
            auto& grad = pass.gradient;
            std::size_t t = 0;
            std::vector<Eigen::Map<Eigen::VectorXf>> m1_views, m2_views;
            for_each_tensor(m1, m2, [&](auto& a, auto& b2) {
                m1_views.emplace_back(a.data(), a.size());
                m2_views.emplace_back(b2.data(), b2.size());
            });
            for_each_tensor(p, grad, [&](auto& param, auto& gt) {
                Eigen::Map<Eigen::VectorXf> pv(param.data(), param.size());
                Eigen::Map<Eigen::VectorXf> gv(gt.data(), gt.size());
                gv += wd * pv;
                auto& mv = m1_views[t];
                auto& vv = m2_views[t];
                mv = 0.9F * mv + 0.1F * gv;
                vv = 0.999F * vv + 0.001F * gv.cwiseProduct(gv);
                pv.array() -= lr * (mv.array() * c1) / ((vv.array() * c2).sqrt() + eps);
                ++t;
            });
        }
        result.epoch_loss.push_back(batches > 0 ? loss_sum / static_cast<double>(batches) : 0.0);
    }
    return result;
}

} // namespace scx
