#include "scextract/readout/readouts.hpp"

#include "scextract/readout/lbfgs.hpp"

#include "scextract/core/blas_threads.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace scx {

namespace {

constexpr std::int64_t kRowChunk = 256; // fixed, so chunk sums are combined in the same order for any thread count

// One thread below ~2e5 multiply-adds: a parallel region would cost more than the work. The
// chunks, and so the bits, are the same either way.
int threads_for(double work, int threads) {
    return work < 2e5 ? 1 : threads;
}

double sigmoid(double t) {
    return t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
}

void check_latent(const RowMatrixF& Z, std::int64_t k, const char* what) {
    if (Z.cols() != k)
        throw Error(fmt::format("{} readout: the latent has {} columns but the readout expects {}", what, Z.cols(), k));
}

// The labelled rows of Z in double, with a weight per row.
struct Labelled {
    RowMatrixD Z;
    std::vector<std::int64_t> y; // 0..classes-1
    Eigen::VectorXd weight;
    double weight_sum = 0;
};

Labelled gather(const RowMatrixF& Z, const std::vector<std::int64_t>& code, std::int64_t n_classes, bool balanced) {
    std::int64_t m = 0;
    std::vector<std::int64_t> per_class(static_cast<std::size_t>(n_classes), 0);
    for (auto c : code)
        if (c >= 0) {
            ++m;
            ++per_class[c];
        }
    Labelled out;
    out.Z.resize(m, Z.cols());
    out.y.reserve(static_cast<std::size_t>(m));
    out.weight.resize(m);
    std::int64_t r = 0;
    for (std::size_t i = 0; i < code.size(); ++i) {
        if (code[i] < 0) continue;
        out.Z.row(r) = Z.row(static_cast<std::int64_t>(i)).cast<double>();
        out.y.push_back(code[i]);
        out.weight[r] = balanced ? static_cast<double>(m) /
                                       (static_cast<double>(n_classes) * static_cast<double>(per_class[code[i]]))
                                 : 1.0;
        ++r;
    }
    out.weight_sum = out.weight.sum();
    return out;
}

void check_logistic_options(const LogisticOptions& o, const char* what) {
    if (!(o.C > 0.0) || !std::isfinite(o.C)) throw Error(fmt::format("{} readout: C = {} must be positive", what, o.C));
    if (!(o.tolerance > 0.0)) throw Error(fmt::format("{} readout: the tolerance must be positive", what));
    if (o.max_iterations < 1 || o.lbfgs_history < 1)
        throw Error(fmt::format("{} readout: max_iterations and lbfgs_history must be >= 1", what));
}

// The weighted loss sum @p sum and its gradient @p g turned into the mean objective
// (sum + |w|^2 / 2C) / weight_sum; w, the penalised weights, lead the gradient.
template <class Weights>
double mean_with_penalty(double sum, Eigen::VectorXd& g, const Weights& w, double C, double weight_sum) {
    const double inv_sw = 1.0 / weight_sum, l2 = 1.0 / (C * weight_sum);
    g *= inv_sw;
    g.head(w.size()) += l2 * w;
    return sum * inv_sw + 0.5 * l2 * w.squaredNorm();
}

// The mean logistic objective (sum_i s_i loss_i + |x.head(n_penalised)|^2 / 2C) / sum_i s_i and
// its gradient. term(begin, end, g) returns sum_i s_i loss_i over rows [begin, end) and adds
// their weighted gradient to g; chunks are summed in chunk order.
template <class ChunkTerm>
double penalised_mean(const Eigen::VectorXd& x, Eigen::VectorXd& g, const Labelled& data, std::int64_t n_penalised,
                      double C, int threads, ChunkTerm&& term) {
    const std::int64_t m = data.Z.rows(), P = x.size(), n_chunks = chunk_count(m, kRowChunk);
    std::vector<double> f_part(n_chunks);
    std::vector<Eigen::VectorXd> g_part(n_chunks);
    parallel_for(m, kRowChunk, threads, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
        Eigen::VectorXd gc = Eigen::VectorXd::Zero(P);
        f_part[c] = term(begin, end, gc);
        g_part[c] = std::move(gc);
    });
    double f = 0;
    g.setZero(P);
    for (std::int64_t c = 0; c < n_chunks; ++c) {
        f += f_part[c];
        g += g_part[c];
    }
    return mean_with_penalty(f, g, x.head(n_penalised), C, data.weight_sum);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Depth: ridge regression.

Eigen::VectorXd LinearRegressionReadout::predict(const RowMatrixF& Z) const {
    check_latent(Z, w.size(), "depth");
    const Eigen::VectorXd wd = w.cast<double>();
    Eigen::VectorXd out(Z.rows());
    for (std::int64_t i = 0; i < Z.rows(); ++i) out[i] = Z.row(i).cast<double>().dot(wd.transpose()) + b;
    return out;
}

DepthReadoutResult fit_depth_readout(const RowMatrixF& Z, const Eigen::VectorXd& y, const RidgeOptions& options) {
    if (y.size() != Z.rows())
        throw Error(fmt::format("depth readout: {} latent rows but {} targets", Z.rows(), y.size()));
    if (!(options.alpha >= 0.0) || !std::isfinite(options.alpha))
        throw Error(fmt::format("depth readout: alpha = {} must be >= 0", options.alpha));
    const std::int64_t k = Z.cols();
    std::vector<std::int64_t> use;
    for (std::int64_t i = 0; i < y.size(); ++i)
        if (!std::isnan(y[i])) use.push_back(i);
    const std::int64_t m = static_cast<std::int64_t>(use.size());
    if (m < 2) throw Error(fmt::format("depth readout: needs at least 2 rows with a target, got {}", m));
    for (auto i : use)
        if (!std::isfinite(y[i])) throw Error(fmt::format("depth readout: target {} is infinite", i));

    // Means first, then centred cross-products: one chunked pass each.
    const std::int64_t n_chunks = chunk_count(m, kRowChunk);
    const int threads = threads_for(static_cast<double>(m) * static_cast<double>(k * k), options.threads);
    std::vector<Eigen::VectorXd> zsum(n_chunks);
    std::vector<double> ysum(n_chunks);
    parallel_for(m, kRowChunk, threads, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
        Eigen::VectorXd s = Eigen::VectorXd::Zero(k);
        double t = 0;
        for (std::int64_t r = begin; r < end; ++r) {
            s += Z.row(use[r]).cast<double>().transpose();
            t += y[use[r]];
        }
        zsum[c] = std::move(s);
        ysum[c] = t;
    });
    Eigen::VectorXd zmean = Eigen::VectorXd::Zero(k);
    double ymean = 0;
    for (std::int64_t c = 0; c < n_chunks; ++c) {
        zmean += zsum[c];
        ymean += ysum[c];
    }
    zmean /= static_cast<double>(m);
    ymean /= static_cast<double>(m);

    std::vector<Eigen::MatrixXd> gram(n_chunks);
    std::vector<Eigen::VectorXd> zy(n_chunks);
    std::vector<double> yy(n_chunks);
    parallel_for(m, kRowChunk, threads, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
        Eigen::MatrixXd G = Eigen::MatrixXd::Zero(k, k);
        Eigen::VectorXd v = Eigen::VectorXd::Zero(k);
        double t = 0;
        for (std::int64_t r = begin; r < end; ++r) {
            const Eigen::VectorXd zc = Z.row(use[r]).cast<double>().transpose() - zmean;
            const double yc = y[use[r]] - ymean;
            G += zc * zc.transpose();
            v += yc * zc;
            t += yc * yc;
        }
        gram[c] = std::move(G);
        zy[c] = std::move(v);
        yy[c] = t;
    });
    Eigen::MatrixXd G = Eigen::MatrixXd::Zero(k, k);
    Eigen::VectorXd v = Eigen::VectorXd::Zero(k);
    double syy = 0;
    for (std::int64_t c = 0; c < n_chunks; ++c) {
        G += gram[c];
        v += zy[c];
        syy += yy[c];
    }
    G.diagonal().array() += options.alpha;
    // alpha = 0 with a singular latent: the minimum-norm least-squares solution.
    const Eigen::VectorXd w = G.completeOrthogonalDecomposition().solve(v);

    DepthReadoutResult out;
    out.readout.w = w.cast<float>();
    out.readout.b = ymean - zmean.dot(w);
    out.n_rows = m;
    // R^2 from the centred sums: residual SS = syy - 2 w.v + w^T G0 w with G0 = G - alpha I.
    G.diagonal().array() -= options.alpha;
    const double rss = syy - 2.0 * w.dot(v) + w.dot(G * w);
    out.r_squared = syy > 0 ? 1.0 - rss / syy : 0.0;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Softmax: multinomial logistic regression.

RowMatrixF SoftmaxReadout::predict_proba(const RowMatrixF& Z) const {
    check_latent(Z, W.cols(), "softmax");
    const std::int64_t K = W.rows();
    const RowMatrixD Wd = W.cast<double>();
    const Eigen::VectorXd bd = b.cast<double>();
    RowMatrixF out(Z.rows(), K);
    for (std::int64_t i = 0; i < Z.rows(); ++i) {
        const Eigen::VectorXd z = Z.row(i).cast<double>().transpose();
        Eigen::VectorXd logit(K);
        for (std::int64_t c = 0; c < K; ++c) logit[c] = Wd.row(c).dot(z.transpose()) + bd[c];
        const double mx = logit.maxCoeff();
        const Eigen::VectorXd e = (logit.array() - mx).exp().matrix();
        out.row(i) = (e / e.sum()).cast<float>().transpose();
    }
    return out;
}

std::vector<std::int64_t> SoftmaxReadout::predict(const RowMatrixF& Z) const {
    const RowMatrixF p = predict_proba(Z);
    std::vector<std::int64_t> out(static_cast<std::size_t>(Z.rows()));
    for (std::int64_t i = 0; i < Z.rows(); ++i) {
        Eigen::Index best = 0;
        p.row(i).maxCoeff(&best);
        out[i] = best;
    }
    return out;
}

SoftmaxReadoutResult fit_softmax_readout(const RowMatrixF& Z, const std::vector<std::int64_t>& labels,
                                         const std::vector<std::string>& class_names, const LogisticOptions& options) {
    check_logistic_options(options, "softmax");
    if (static_cast<std::int64_t>(labels.size()) != Z.rows())
        throw Error(fmt::format("softmax readout: {} latent rows but {} labels", Z.rows(), labels.size()));
    const std::int64_t n_names = static_cast<std::int64_t>(class_names.size());
    std::vector<std::int64_t> present_count(static_cast<std::size_t>(n_names), 0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < -1 || labels[i] >= n_names)
            throw Error(fmt::format("softmax readout: label {} of row {} is outside [-1, {})", labels[i], i, n_names));
        if (labels[i] >= 0) ++present_count[labels[i]];
    }
    SoftmaxReadoutResult out;
    std::vector<std::int64_t> remap(static_cast<std::size_t>(n_names), -1);
    for (std::int64_t c = 0; c < n_names; ++c)
        if (present_count[c] > 0) {
            remap[c] = static_cast<std::int64_t>(out.class_codes.size());
            out.class_codes.push_back(c);
        }
    const std::int64_t K = static_cast<std::int64_t>(out.class_codes.size());
    if (K < 2) throw Error(fmt::format("softmax readout: needs at least 2 classes with rows, got {}", K));
    std::vector<std::int64_t> code(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) code[i] = labels[i] < 0 ? -1 : remap[labels[i]];
    const Labelled data = gather(Z, code, K, options.balanced_class_weights);
    const std::int64_t m = data.Z.rows(), k = Z.cols(), P = K * (k + 1);

    // x = [W row-major (K x k), b (K)]; W is penalised, b is not.
    const int threads = threads_for(static_cast<double>(m) * static_cast<double>(2 * K * k), options.threads);
    auto objective = [&](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
        const Eigen::Map<const RowMatrixD> W(x.data(), K, k);
        const Eigen::Map<const Eigen::VectorXd> b(x.data() + K * k, K);
        return penalised_mean(x, g, data, K * k, options.C, threads,
                              [&](std::int64_t begin, std::int64_t end, Eigen::VectorXd& gc) {
                                  Eigen::Map<RowMatrixD> gW(gc.data(), K, k);
                                  Eigen::VectorXd logit(K), r(K);
                                  double fc = 0;
                                  for (std::int64_t i = begin; i < end; ++i) {
                                      for (std::int64_t a = 0; a < K; ++a)
                                          logit[a] = W.row(a).dot(data.Z.row(i)) + b[a];
                                      const double mx = logit.maxCoeff();
                                      const double lse = mx + std::log((logit.array() - mx).exp().sum());
                                      const double s = data.weight[i];
                                      fc += s * (lse - logit[data.y[i]]);
                                      r = (logit.array() - lse).exp().matrix();
                                      r[data.y[i]] -= 1.0;
                                      r *= s;
                                      for (std::int64_t a = 0; a < K; ++a) gW.row(a) += r[a] * data.Z.row(i);
                                      gc.tail(K) += r;
                                  }
                                  return fc;
                              });
    };
    Eigen::VectorXd x = Eigen::VectorXd::Zero(P);
    out.info = minimize(objective, x, options);
    out.info.n_rows = m;

    auto& r = out.readout;
    r.W = Eigen::Map<const RowMatrixD>(x.data(), K, k).cast<float>();
    Eigen::VectorXd b = x.tail(K);
    b.array() -= b.mean();
    r.b = b.cast<float>();
    for (auto c : out.class_codes) r.classes.push_back(class_names[c]);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Binary logistic regression.

Eigen::VectorXd BinaryReadout::predict_proba(const RowMatrixF& Z) const {
    check_latent(Z, w.size(), "binary");
    const Eigen::VectorXd wd = w.cast<double>();
    Eigen::VectorXd out(Z.rows());
    for (std::int64_t i = 0; i < Z.rows(); ++i) {
        out[i] = sigmoid(Z.row(i).cast<double>().dot(wd.transpose()) + b);
    }
    return out;
}

std::vector<std::int64_t> BinaryReadout::predict(const RowMatrixF& Z, double threshold) const {
    const Eigen::VectorXd p = predict_proba(Z);
    std::vector<std::int64_t> out(static_cast<std::size_t>(p.size()));
    for (std::int64_t i = 0; i < p.size(); ++i) out[i] = p[i] > threshold ? 1 : 0;
    return out;
}

BinaryReadoutResult fit_binary_readout(const RowMatrixF& Z, const std::vector<std::int64_t>& labels,
                                       const std::array<std::string, 2>& class_names, const LogisticOptions& options) {
    return std::move(fit_binary_readouts(Z, {labels}, {class_names}, options).front());
}

namespace {

// The rows of Z labelled in at least one of the fits, in double, with every fit's 0/1 target
// and row weight (0 where the fit leaves the row out).
struct LabelledSets {
    RowMatrixD Z;
    Eigen::MatrixXd y, weight; // rows x fits
    Eigen::VectorXd weight_sum; // per fit
};

LabelledSets gather_sets(RowMatrixD Z, const std::vector<std::vector<std::int64_t>>& labels,
                         const std::vector<std::array<std::int64_t, 2>>& counts, bool balanced) {
    const auto n_fits = static_cast<Eigen::Index>(labels.size());
    std::vector<Eigen::Index> rows;
    for (Eigen::Index i = 0; i < Z.rows(); ++i)
        if (std::any_of(labels.begin(), labels.end(), [&](const auto& l) { return l[static_cast<std::size_t>(i)] >= 0; }))
            rows.push_back(i);
    LabelledSets out;
    const auto m = static_cast<Eigen::Index>(rows.size());
    out.y.setZero(m, n_fits);
    out.weight.setZero(m, n_fits);
    out.weight_sum.resize(n_fits);
    if (m == Z.rows()) {
        out.Z = std::move(Z); // every row labelled somewhere: no copy
    } else {
        out.Z.resize(m, Z.cols());
        for (Eigen::Index r = 0; r < m; ++r) out.Z.row(r) = Z.row(rows[static_cast<std::size_t>(r)]);
    }
    for (Eigen::Index j = 0; j < n_fits; ++j) {
        const auto& l = labels[static_cast<std::size_t>(j)];
        const std::array<double, 2> count{static_cast<double>(counts[static_cast<std::size_t>(j)][0]),
                                          static_cast<double>(counts[static_cast<std::size_t>(j)][1])};
        const double m_j = count[0] + count[1];
        for (Eigen::Index r = 0; r < m; ++r) {
            const auto c = l[static_cast<std::size_t>(rows[static_cast<std::size_t>(r)])];
            if (c < 0) continue;
            out.y(r, j) = static_cast<double>(c);
            out.weight(r, j) = balanced ? m_j / (2.0 * count[static_cast<std::size_t>(c)]) : 1.0;
        }
        out.weight_sum[j] = out.weight.col(j).sum();
    }
    return out;
}

constexpr std::int64_t kFitsRowChunk = 1024; // larger than kRowChunk: each chunk keeps a k x fits gradient

} // namespace

std::vector<BinaryReadoutResult> fit_binary_readouts(const RowMatrixF& Z, const std::vector<std::vector<std::int64_t>>& labels,
                                                     const std::vector<std::array<std::string, 2>>& class_names,
                                                     const LogisticOptions& options) {
    return fit_binary_readouts(RowMatrixD(Z.cast<double>()), labels, class_names, options);
}

std::vector<BinaryReadoutResult> fit_binary_readouts(RowMatrixD Z, const std::vector<std::vector<std::int64_t>>& labels,
                                                     const std::vector<std::array<std::string, 2>>& class_names,
                                                     const LogisticOptions& options) {
    check_logistic_options(options, "binary");
    if (labels.size() != class_names.size())
        throw Error(fmt::format("binary readouts: {} label sets but {} pairs of class names", labels.size(), class_names.size()));
    std::vector<std::array<std::int64_t, 2>> counts(labels.size(), {0, 0}); // rows of class 0 and 1, per fit
    for (std::size_t j = 0; j < labels.size(); ++j) {
        if (static_cast<std::int64_t>(labels[j].size()) != Z.rows())
            throw Error(fmt::format("binary readout: {} latent rows but {} labels", Z.rows(), labels[j].size()));
        auto& count = counts[j];
        for (std::size_t i = 0; i < labels[j].size(); ++i) {
            if (labels[j][i] < -1 || labels[j][i] > 1)
                throw Error(fmt::format("binary readout: label {} of row {} is not -1, 0 or 1", labels[j][i], i));
            if (labels[j][i] >= 0) ++count[labels[j][i]];
        }
        for (int c = 0; c < 2; ++c)
            if (count[c] == 0) throw Error(fmt::format("binary readout: no rows of class {} ('{}')", c, class_names[j][c]));
    }
    const std::int64_t k = Z.cols();
    const LabelledSets data = gather_sets(std::move(Z), labels, counts, options.balanced_class_weights);
    const std::int64_t m = data.Z.rows(), n_chunks = chunk_count(m, kFitsRowChunk);

    // x = [w (k), b] per fit; w is penalised, b is not. Each round evaluates every fit still
    // running at the point its minimiser asks for, in one pass over Z: scores Z W (a GEMM over
    // the running fits), residuals, then the gradient Z^T R, summed per chunk in chunk order.
    std::vector<LbfgsMinimizer> fits;
    fits.reserve(labels.size());
    for (std::size_t j = 0; j < labels.size(); ++j) fits.emplace_back(Eigen::VectorXd::Zero(k + 1), options);
    std::vector<RowMatrixD> g_part(static_cast<std::size_t>(n_chunks));
    std::vector<Eigen::RowVectorXd> f_part(static_cast<std::size_t>(n_chunks)), b_part(static_cast<std::size_t>(n_chunks));
    std::vector<Eigen::Index> running;
    Eigen::VectorXd g(k + 1);
    while (true) {
        running.clear();
        for (std::size_t j = 0; j < fits.size(); ++j)
            if (!fits[j].done()) running.push_back(static_cast<Eigen::Index>(j));
        if (running.empty()) break;
        const auto q = static_cast<Eigen::Index>(running.size());
        RowMatrixD W(k, q);
        Eigen::RowVectorXd b(q);
        for (Eigen::Index a = 0; a < q; ++a) {
            const Eigen::VectorXd& x = fits[static_cast<std::size_t>(running[a])].point();
            W.col(a) = x.head(k);
            b[a] = x[k];
        }
        const int threads = threads_for(static_cast<double>(m) * static_cast<double>(2 * k * q), options.threads);
        const SingleThreadedBlas one_blas_thread; // the chunks are the parallel work
        parallel_for(m, kFitsRowChunk, threads, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
            const auto len = static_cast<int>(end - begin);
            const double* rows = data.Z.data() + begin * k;
            RowMatrixD R(len, q); // scores, then weighted residuals
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, static_cast<int>(q), static_cast<int>(k), 1.0, rows,
                        static_cast<int>(k), W.data(), static_cast<int>(q), 0.0, R.data(), static_cast<int>(q));
            Eigen::RowVectorXd fc = Eigen::RowVectorXd::Zero(q);
            for (Eigen::Index a = 0; a < q; ++a)
                for (Eigen::Index i = 0; i < R.rows(); ++i) {
                    const double s = data.weight(begin + i, running[a]);
                    if (s == 0.0) {
                        R(i, a) = 0.0;
                        continue;
                    }
                    const double t = R(i, a) + b[a], yi = data.y(begin + i, running[a]);
                    // log(1 + exp(t)) - y t, written to avoid overflow.
                    const double softplus = t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t));
                    fc[a] += s * (softplus - yi * t);
                    R(i, a) = s * (sigmoid(t) - yi);
                }
            g_part[c].resize(k, q);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(k), static_cast<int>(q), len, 1.0, rows,
                        static_cast<int>(k), R.data(), static_cast<int>(q), 0.0, g_part[c].data(), static_cast<int>(q));
            b_part[c] = R.colwise().sum();
            f_part[c] = fc;
        });
        for (Eigen::Index a = 0; a < q; ++a) {
            const auto j = running[a];
            double f = 0;
            g.setZero();
            for (std::int64_t c = 0; c < n_chunks; ++c) {
                f += f_part[c][a];
                g.head(k) += g_part[c].col(a);
                g[k] += b_part[c][a];
            }
            f = mean_with_penalty(f, g, W.col(a), options.C, data.weight_sum[j]);
            fits[static_cast<std::size_t>(j)].tell(f, g);
        }
    }

    std::vector<BinaryReadoutResult> out(labels.size());
    for (std::size_t j = 0; j < labels.size(); ++j) {
        const Eigen::VectorXd& x = fits[j].solution();
        out[j].info = fits[j].info();
        out[j].info.n_rows = counts[j][0] + counts[j][1];
        out[j].readout.w = x.head(k).cast<float>();
        out[j].readout.b = x[k];
        out[j].readout.negative_class = class_names[j][0];
        out[j].readout.positive_class = class_names[j][1];
    }
    return out;
}

} // namespace scx
