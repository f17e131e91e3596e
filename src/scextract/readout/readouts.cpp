#include "scextract/readout/readouts.hpp"

#include "scextract/readout/more_thuente.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
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
    const double inv_sw = 1.0 / data.weight_sum, l2 = 1.0 / (C * data.weight_sum);
    f *= inv_sw;
    g *= inv_sw;
    f += 0.5 * l2 * x.head(n_penalised).squaredNorm();
    g.head(n_penalised) += l2 * x.head(n_penalised);
    return f;
}

/// The curvature pairs (s_i, y_i) of L-BFGS with rho_i = 1 / s_i.y_i, oldest first, at most
/// @p history of them; both minimisers below keep theirs here.
class LbfgsMemory {
public:
    explicit LbfgsMemory(std::int64_t history) : history_(history) {}
    [[nodiscard]] bool empty() const { return S_.empty(); }
    [[nodiscard]] const Eigen::VectorXd& newest_s() const { return S_.back(); }
    [[nodiscard]] const Eigen::VectorXd& newest_y() const { return Y_.back(); }
    void clear() {
        S_.clear();
        Y_.clear();
        rho_.clear();
    }
    /// Adds a pair whose s.y is @p sy, dropping the oldest beyond the history.
    void push(Eigen::VectorXd s, Eigen::VectorXd y, double sy) {
        S_.push_back(std::move(s));
        Y_.push_back(std::move(y));
        rho_.push_back(1.0 / sy);
        if (static_cast<std::int64_t>(S_.size()) > history_) {
            S_.pop_front();
            Y_.pop_front();
            rho_.pop_front();
        }
    }
    /// d = -H g by the two-loop recursion, with H0 = h0 I.
    void direction(const Eigen::VectorXd& g, double h0, Eigen::VectorXd& d) const {
        d = -g;
        std::vector<double> alpha(S_.size());
        for (std::size_t i = S_.size(); i-- > 0;) {
            alpha[i] = rho_[i] * S_[i].dot(d);
            d -= alpha[i] * Y_[i];
        }
        d *= h0;
        for (std::size_t i = 0; i < S_.size(); ++i) {
            const double beta = rho_[i] * Y_[i].dot(d);
            d += (alpha[i] - beta) * S_[i];
        }
    }

private:
    std::int64_t history_;
    std::deque<Eigen::VectorXd> S_, Y_;
    std::deque<double> rho_;
};

// L-BFGS (Nocedal & Wright, algorithm 7.4) with a backtracking Armijo search. Near the optimum
// the objective stops changing in double precision, so a step that leaves it unchanged to
// rounding but shrinks the gradient is also accepted.
template <class Objective>
LogisticFitInfo lbfgs(Objective&& objective, Eigen::VectorXd& x, const LogisticOptions& o) {
    const double tiny = std::numeric_limits<double>::epsilon();
    Eigen::VectorXd g(x.size()), g_new(x.size()), x_new(x.size()), d(x.size());
    double f = objective(x, g);
    LbfgsMemory memory(o.lbfgs_history);
    LogisticFitInfo info;
    while (true) {
        info.gradient_norm = g.cwiseAbs().maxCoeff();
        if (info.gradient_norm <= o.tolerance) {
            info.converged = true;
            break;
        }
        if (info.iterations >= o.max_iterations) break;
        ++info.iterations;

        if (memory.empty())
            d = -g / std::max(1.0, g.norm()); // first step: at most unit length
        else
            memory.direction(g, memory.newest_s().dot(memory.newest_y()) / memory.newest_y().squaredNorm(), d);
        double dg = d.dot(g);
        if (!(dg < 0.0)) { // not a descent direction: restart from steepest descent
            memory.clear();
            d = -g / std::max(1.0, g.norm());
            dg = d.dot(g);
        }

        double step = 1.0, f_new = f;
        bool accepted = false;
        for (int tries = 0; tries < 60; ++tries, step *= 0.5) {
            x_new = x + step * d;
            f_new = objective(x_new, g_new);
            if (!std::isfinite(f_new)) continue;
            if (f_new <= f + 1e-4 * step * dg) {
                accepted = true;
                break;
            }
            if (std::abs(f_new - f) <= 8.0 * tiny * std::abs(f) &&
                g_new.cwiseAbs().maxCoeff() < g.cwiseAbs().maxCoeff()) {
                accepted = true;
                break;
            }
        }
        if (!accepted) break; // no progress possible in double precision

        Eigen::VectorXd s = x_new - x, yv = g_new - g;
        const double sy = s.dot(yv);
        if (sy > tiny * yv.squaredNorm()) memory.push(std::move(s), std::move(yv), sy);
        x.swap(x_new);
        g.swap(g_new);
        f = f_new;
    }
    info.objective = f;
    return info;
}

// scipy's L-BFGS-B on an unbounded problem, as scikit-learn calls it (LbfgsPath::scipy_lbfgsb).
// Without bounds its generalized Cauchy point and subspace minimisation reduce to the L-BFGS
// step -H g with H0 = 1 / theta, theta = y.y / s.y of the newest pair (1 with no pairs), which
// the two-loop recursion computes.
template <class Objective>
LogisticFitInfo scipy_lbfgsb(Objective&& objective, Eigen::VectorXd& x, const LogisticOptions& o) {
    const double eps = std::numeric_limits<double>::epsilon();
    const double relative_decrease = 64.0 * eps; // sklearn's ftol
    constexpr std::int64_t kMaxLineSearch = 50;  // sklearn's maxls
    constexpr std::int64_t kMaxEvaluations = 15000; // scipy's maxfun
    const auto n = x.size();
    Eigen::VectorXd g(n), t(n), r(n), d(n);
    double f = objective(x, g);
    std::int64_t evaluations = 1;
    LbfgsMemory memory(o.lbfgs_history);
    double theta = 1.0;
    LogisticFitInfo info;
    info.gradient_norm = g.cwiseAbs().maxCoeff();
    if (info.gradient_norm <= o.tolerance) {
        info.converged = true;
        info.objective = f;
        return info;
    }
    // after an ascent direction or a failed line search: drop the memory and retry, or stop
    // when there is none to drop
    const auto refresh = [&] {
        if (memory.empty()) return false;
        memory.clear();
        theta = 1.0;
        return true;
    };
    MoreThuenteSearch search;
    while (true) {
        if (memory.empty()) d = -g / theta;
        else memory.direction(g, 1.0 / theta, d);
        const double gd_old = g.dot(d);
        if (!(gd_old < 0.0)) {
            if (!refresh()) break;
            continue;
        }
        const double stp0 = info.iterations == 0 ? std::min(1.0 / d.norm(), 1e10) : 1.0;
        t = x;
        r = g;
        const double f_old = f;
        search.start(f, gd_old, stp0);
        std::int64_t trials = 0;
        bool failed = false;
        double gd = gd_old;
        while (true) {
            if (trials >= kMaxLineSearch) {
                failed = true;
                break;
            }
            x = t + search.next_step() * d;
            f = objective(x, g);
            ++evaluations;
            ++trials;
            gd = g.dot(d);
            if (search.step(f, gd) != MoreThuenteStatus::evaluate) break;
        }
        if (failed) { // restore the iterate
            x = t;
            g = r;
            f = f_old;
            if (!refresh()) break;
            continue;
        }
        const double stp = search.next_step();
        ++info.iterations;
        info.gradient_norm = g.cwiseAbs().maxCoeff();
        if (info.iterations >= o.max_iterations || evaluations > kMaxEvaluations) break;
        if (info.gradient_norm <= o.tolerance) {
            info.converged = true;
            break;
        }
        if (f_old - f <= relative_decrease * std::max({std::abs(f_old), std::abs(f), 1.0})) {
            info.converged = true; // scipy's "relative reduction of f": success for sklearn
            break;
        }
        // The new pair, with s.y from the directional derivatives as L-BFGS-B forms it.
        Eigen::VectorXd y = g - r;
        const double yy = y.squaredNorm();
        double sy = 0, curvature_floor = 0;
        if (stp == 1.0) {
            sy = gd - gd_old;
            curvature_floor = -gd_old;
        } else {
            sy = (gd - gd_old) * stp;
            d *= stp;
            curvature_floor = -gd_old * stp;
        }
        if (sy <= eps * curvature_floor) continue; // skipped update
        memory.push(d, std::move(y), sy);
        theta = yy / sy;
    }
    info.objective = f;
    return info;
}

template <class Objective>
LogisticFitInfo minimize(Objective&& objective, Eigen::VectorXd& x, const LogisticOptions& o) {
    return o.path == LbfgsPath::scipy_lbfgsb ? scipy_lbfgsb(objective, x, o) : lbfgs(objective, x, o);
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
    check_logistic_options(options, "binary");
    if (static_cast<std::int64_t>(labels.size()) != Z.rows())
        throw Error(fmt::format("binary readout: {} latent rows but {} labels", Z.rows(), labels.size()));
    std::array<std::int64_t, 2> count{0, 0};
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < -1 || labels[i] > 1)
            throw Error(fmt::format("binary readout: label {} of row {} is not -1, 0 or 1", labels[i], i));
        if (labels[i] >= 0) ++count[labels[i]];
    }
    for (int c = 0; c < 2; ++c)
        if (count[c] == 0) throw Error(fmt::format("binary readout: no rows of class {} ('{}')", c, class_names[c]));
    const Labelled data = gather(Z, labels, 2, options.balanced_class_weights);
    const std::int64_t m = data.Z.rows(), k = Z.cols(), P = k + 1;

    // x = [w (k), b]; w is penalised, b is not.
    const int threads = threads_for(static_cast<double>(m) * static_cast<double>(2 * k), options.threads);
    auto objective = [&](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
        const Eigen::Map<const Eigen::RowVectorXd> w(x.data(), k);
        const double b = x[k];
        return penalised_mean(
            x, g, data, k, options.C, threads, [&](std::int64_t begin, std::int64_t end, Eigen::VectorXd& gc) {
                double fc = 0;
                for (std::int64_t i = begin; i < end; ++i) {
                    const double t = w.dot(data.Z.row(i)) + b;
                    const double yi = static_cast<double>(data.y[i]);
                    // log(1 + exp(t)) - y t, written to avoid overflow.
                    const double softplus = t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t));
                    const double s = data.weight[i];
                    fc += s * (softplus - yi * t);
                    const double r = s * (sigmoid(t) - yi);
                    gc.head(k) += r * data.Z.row(i).transpose();
                    gc[k] += r;
                }
                return fc;
            });
    };
    Eigen::VectorXd x = Eigen::VectorXd::Zero(P);
    BinaryReadoutResult out;
    out.info = minimize(objective, x, options);
    out.info.n_rows = m;
    out.readout.w = x.head(k).cast<float>();
    out.readout.b = x[k];
    out.readout.negative_class = class_names[0];
    out.readout.positive_class = class_names[1];
    return out;
}

} // namespace scx
