#include "scextract/adapt/adaptor.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/random.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numbers>
#include <numeric>
#include <span>

namespace scx {

namespace {

// Fixed chunk sizes (never derived from the thread count) so sums are combined in the same order.
constexpr std::int64_t kRowChunk = 128;           // rows per chunk of the D-wide passes
constexpr std::int64_t kPairChunk = 16;           // rows i per chunk of the n^2 pair loop
constexpr double kMinNorm = 1e-12;                // |z| below this is treated as this (never reached in practice)
constexpr std::int64_t kSymmetricPairsMax = 2048; // largest batch whose n x n pair derivatives are stored (32 MiB)

using RowVectorD = Eigen::Matrix<double, 1, Eigen::Dynamic>;

// Below this many multiply-adds a loop runs on the calling thread: opening a parallel region
// costs more than the work (and far more when the cores are shared). The chunks, and so the
// bits, are the same either way.
constexpr double kMinParallelWork = 2e5;

template <class Fn>
void for_chunks(std::int64_t n, std::int64_t chunk, int threads, double work, Fn&& fn) {
    const std::int64_t n_chunks = chunk_count(n, chunk);
    if (threads == 1 || n_chunks <= 1 || work < kMinParallelWork) {
        for (std::int64_t c = 0; c < n_chunks; ++c) fn(c, c * chunk, std::min(n, (c + 1) * chunk));
        return;
    }
    parallel_for(n, chunk, threads, fn);
}

struct Clamped {
    double theta;  // arccos of the clamped cosine
    double dtheta; // d theta / d cosine (0 where the clamp is active)
};

Clamped clamped_arccos(double c, double eps) {
    const double lo = -1.0 + eps, hi = 1.0 - eps;
    // torch.clamp passes the gradient on the closed interval [lo, hi] and blocks it outside.
    if (c < lo) return {std::acos(lo), 0.0};
    if (c > hi) return {std::acos(hi), 0.0};
    return {std::acos(c), -1.0 / std::sqrt(1.0 - c * c)};
}

// Four dot products w.x[r] at once, so each load of w serves four rows. Two lanes per row,
// summed at the end: a fixed order, whatever the thread count.
constexpr std::int64_t kBlock = 4;
using Lanes = double __attribute__((vector_size(16)));

inline Lanes load_lanes(const double* p) {
    Lanes v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void dot_block(const double* w, const double* const x[kBlock], std::int64_t D, double out[kBlock]) {
    Lanes acc[kBlock] = {};
    std::int64_t d = 0;
    for (; d + 2 <= D; d += 2) {
        const Lanes wv = load_lanes(w + d);
        for (std::int64_t r = 0; r < kBlock; ++r) acc[r] += wv * load_lanes(x[r] + d);
    }
    for (std::int64_t r = 0; r < kBlock; ++r) {
        out[r] = acc[r][0] + acc[r][1];
        if (d < D) out[r] += w[d] * x[r][d];
    }
}

// y += sum_r g[r] X.row(r) over the first D entries, rows added in order r = 0..3.
void axpy_block(const double g[kBlock], const RowMatrixD& X, double* y, std::int64_t D) {
    const double *x0 = X.row(0).data(), *x1 = X.row(1).data(), *x2 = X.row(2).data(), *x3 = X.row(3).data();
    for (std::int64_t d = 0; d < D; ++d) y[d] += ((g[0] * x0[d] + g[1] * x1[d]) + g[2] * x2[d]) + g[3] * x3[d];
}

double dot_k(const double* a, const double* b, std::int64_t k) {
    double s = 0;
    for (std::int64_t a_i = 0; a_i < k; ++a_i) s += a[a_i] * b[a_i];
    return s;
}

void check_problem(std::int64_t n_rows, std::int64_t n_features, const std::vector<std::int64_t>& stage_of_row,
                   const Eigen::MatrixXd& stage_distance) {
    if (static_cast<std::int64_t>(stage_of_row.size()) != n_rows)
        throw Error(fmt::format("adaptor: {} rows but {} stage indices", n_rows, stage_of_row.size()));
    if (n_rows < 2) throw Error(fmt::format("adaptor: needs at least 2 rows, got {}", n_rows));
    if (n_features < 1) throw Error("adaptor: the rows have no features");
    if (stage_distance.rows() != stage_distance.cols() || stage_distance.rows() == 0)
        throw Error(fmt::format("adaptor: the stage distance matrix is {} x {}, not square and non-empty",
                                stage_distance.rows(), stage_distance.cols()));
    if (!stage_distance.allFinite()) throw Error("adaptor: the stage distance matrix has non-finite entries");
    if (stage_distance != stage_distance.transpose())
        throw Error("adaptor: the stage distance matrix is not symmetric");
    const std::int64_t n_stages = stage_distance.rows();
    for (std::size_t i = 0; i < stage_of_row.size(); ++i)
        if (stage_of_row[i] < 0 || stage_of_row[i] >= n_stages)
            throw Error(fmt::format("adaptor: row {} has stage {}, outside [0, {})", i, stage_of_row[i], n_stages));
}

void check_parameters(const AdaptorParameters& p, std::int64_t n_features, std::int64_t n_stages) {
    if (p.W.rows() < 1 || p.W.cols() != n_features)
        throw Error(
            fmt::format("adaptor: W is {} x {} but the rows have {} features", p.W.rows(), p.W.cols(), n_features));
    if (p.b.size() != n_features)
        throw Error(fmt::format("adaptor: b has {} entries but the rows have {} features", p.b.size(), n_features));
    if (!std::isfinite(p.log_beta)) throw Error("adaptor: log_beta is not finite");
    if (p.head_W.size() != 0 || p.head_b.size() != 0) {
        if (p.head_W.rows() != n_stages || p.head_W.cols() != p.W.rows() || p.head_b.size() != n_stages)
            throw Error(fmt::format("adaptor: the stage head is {} x {} with {} biases, expected {} x {}",
                                    p.head_W.rows(), p.head_W.cols(), p.head_b.size(), n_stages, p.W.rows()));
    }
}

double normaliser(AdaptorNormalisation mode, double count) {
    if (mode == AdaptorNormalisation::sum) return 1.0;
    return count > 0 ? 1.0 / count : 0.0;
}

// The objective on the rows listed in idx (positions in the batch follow idx).
AdaptorLossResult evaluate(const AdaptorParameters& p, const RowMatrixF& rows, std::span<const std::int64_t> idx,
                           const std::vector<std::int64_t>& stage_of_row, const Eigen::MatrixXd& dist,
                           const AdaptorLossOptions& o, int threads, bool want_gradient) {
    const std::int64_t n = static_cast<std::int64_t>(idx.size());
    const std::int64_t D = p.W.cols(), k = p.W.rows(), S = dist.rows();
    const double beta = std::exp(p.log_beta);
    const double eps = o.clamp_eps;
    const auto& w = o.weights;
    const bool has_head = p.head_W.size() > 0;

    std::vector<std::int64_t> st(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) st[i] = stage_of_row[idx[i]];

    // Pass 1: z_i = W (f_i - b), |x_i|^2 and the column sums of x; rows go four at a time.
    RowMatrixD Z(n, k);
    Eigen::VectorXd xsq(n);
    const std::int64_t n_row_chunks = chunk_count(n, kRowChunk);
    std::vector<Eigen::VectorXd> xsum_part(want_gradient ? n_row_chunks : 0);
    const double row_work = static_cast<double>(n) * static_cast<double>(D) * static_cast<double>(k);
    for_chunks(n, kRowChunk, threads, row_work, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
        RowMatrixD X(kBlock, D);
        Eigen::VectorXd xs;
        if (want_gradient) xs = Eigen::VectorXd::Zero(D);
        for (std::int64_t i0 = begin; i0 < end; i0 += kBlock) {
            const std::int64_t m = std::min(kBlock, end - i0);
            const double* x[kBlock];
            for (std::int64_t r = 0; r < kBlock; ++r) {
                if (r < m) X.row(r) = rows.row(idx[i0 + r]).cast<double>() - p.b.transpose();
                x[r] = X.row(std::min(r, m - 1)).data(); // a short block repeats its last row
            }
            for (std::int64_t a = 0; a < k; ++a) {
                double out[kBlock];
                dot_block(p.W.row(a).data(), x, D, out);
                for (std::int64_t r = 0; r < m; ++r) Z(i0 + r, a) = out[r];
            }
            for (std::int64_t r = 0; r < m; ++r) {
                xsq[i0 + r] = X.row(r).squaredNorm();
                if (want_gradient) xs += X.row(r).transpose();
            }
        }
        if (want_gradient) xsum_part[c] = std::move(xs);
    });

    Eigen::VectorXd znorm(n);
    RowMatrixD U(n, k);
    for (std::int64_t i = 0; i < n; ++i) {
        znorm[i] = std::max(Z.row(i).norm(), kMinNorm);
        U.row(i) = Z.row(i) / znorm[i];
    }

    // Stage counts in the batch, and the number of ordered local pairs.
    std::vector<std::int64_t> count(static_cast<std::size_t>(S), 0);
    for (auto s : st) ++count[s];
    double local_pairs = 0;
    for (std::int64_t s = 0; s < S; ++s)
        for (std::int64_t t = 0; t < S; ++t)
            if (count[s] > 0 && count[t] > 0 && dist(s, t) <= o.local_radius)
                local_pairs += static_cast<double>(count[s]) * static_cast<double>(count[t] - (s == t ? 1 : 0));

    const double n_pairs = static_cast<double>(n) * static_cast<double>(n - 1);
    const double ns = normaliser(o.normalisation, n_pairs);
    const double nl = normaliser(o.normalisation, local_pairs);

    // Pair terms. Each unordered pair is evaluated once (the cosine of (i, j) and (j, i) is the
    // same number), its derivative stored for both orderings in C, and GU = C U formed per row.
    // C is n x n, so very large full batches fall back to visiting every ordered pair.
    RowMatrixD GU = RowMatrixD::Zero(n, k);
    const std::int64_t n_pair_chunks = chunk_count(n, kPairChunk);
    std::vector<double> stage_part(n_pair_chunks, 0.0), local_part(n_pair_chunks, 0.0), dlb_part(n_pair_chunks, 0.0);
    const double pair_work = static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(k + 8);
    struct PairTerm {
        double e2, local_e2, dlog_beta, dcos; // dcos: d loss / d cos for one ordering
    };
    const auto pair_term = [&](std::int64_t i, std::int64_t j) {
        const double d = dist(st[i], st[j]);
        const Clamped ac = clamped_arccos(dot_k(U.row(i).data(), U.row(j).data(), k), eps);
        const double e = beta * ac.theta - d;
        const bool local = d <= o.local_radius;
        const double a = w.stage * ns + (local ? w.local * nl : 0.0);
        return PairTerm{e * e, local ? e * e : 0.0, 2.0 * a * e * ac.theta * beta, 2.0 * a * e * beta * ac.dtheta};
    };
    const bool symmetric = n <= kSymmetricPairsMax;
    RowMatrixD C = symmetric ? RowMatrixD::Zero(n, n) : RowMatrixD();
    for_chunks(n, kPairChunk, threads, pair_work, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
        double stage_sum = 0, local_sum = 0, dlb = 0;
        for (std::int64_t i = begin; i < end; ++i) {
            if (symmetric) {
                for (std::int64_t j = i + 1; j < n; ++j) {
                    const PairTerm t = pair_term(i, j);
                    stage_sum += 2.0 * t.e2;
                    local_sum += 2.0 * t.local_e2;
                    dlb += 2.0 * t.dlog_beta;
                    C(i, j) = C(j, i) = 2.0 * t.dcos; // each unordered pair is written by one chunk only
                }
            } else {
                double* gi = GU.row(i).data();
                for (std::int64_t j = 0; j < n; ++j) {
                    if (j == i) continue;
                    const PairTerm t = pair_term(i, j);
                    stage_sum += t.e2;
                    local_sum += t.local_e2;
                    dlb += t.dlog_beta;
                    const double g = 2.0 * t.dcos; // both orderings of the pair move u_i
                    if (g != 0.0)
                        for (std::int64_t q = 0; q < k; ++q) gi[q] += g * U(j, q);
                }
            }
        }
        stage_part[c] = stage_sum;
        local_part[c] = local_sum;
        dlb_part[c] = dlb;
    });
    if (symmetric)
        for_chunks(n, kPairChunk, threads, static_cast<double>(n) * static_cast<double>(n * k),
                   [&](std::int64_t, std::int64_t begin, std::int64_t end) {
                       for (std::int64_t i = begin; i < end; ++i) {
                           double* gi = GU.row(i).data();
                           for (std::int64_t j = 0; j < n; ++j) {
                               const double g = C(i, j);
                               if (g != 0.0)
                                   for (std::int64_t q = 0; q < k; ++q) gi[q] += g * U(j, q);
                           }
                       }
                   });
    double stage_sum = 0, local_sum = 0, dlog_beta = 0;
    for (std::int64_t c = 0; c < n_pair_chunks; ++c) {
        stage_sum += stage_part[c];
        local_sum += local_part[c];
        dlog_beta += dlb_part[c];
    }

    // Stage centroids of the unit latents: topology and compactness (n k work, serial).
    std::vector<std::int64_t> present;
    for (std::int64_t s = 0; s < S; ++s)
        if (count[s] > 0) present.push_back(s);
    RowMatrixD mu = RowMatrixD::Zero(S, k);
    for (std::int64_t i = 0; i < n; ++i) mu.row(st[i]) += U.row(i);
    Eigen::VectorXd mu_norm = Eigen::VectorXd::Ones(S);
    RowMatrixD mhat = RowMatrixD::Zero(S, k);
    for (auto s : present) {
        mu.row(s) /= static_cast<double>(count[s]);
        mu_norm[s] = std::max(mu.row(s).norm(), kMinNorm);
        mhat.row(s) = mu.row(s) / mu_norm[s];
    }
    RowMatrixD Gmhat = RowMatrixD::Zero(S, k);
    const double n_present = static_cast<double>(present.size());
    const double nt = normaliser(o.normalisation, n_present * (n_present - 1.0));
    double topo_sum = 0;
    for (auto s : present) {
        for (auto t : present) {
            if (s == t) continue;
            const Clamped ac = clamped_arccos(mhat.row(s).dot(mhat.row(t)), eps);
            const double e = beta * ac.theta - dist(s, t);
            topo_sum += e * e;
            const double a = w.topology * nt;
            dlog_beta += 2.0 * a * e * ac.theta * beta;
            const double g = 2.0 * (2.0 * a * e * beta * ac.dtheta);
            if (g != 0.0) Gmhat.row(s) += g * mhat.row(t);
        }
    }
    const double nc = normaliser(o.normalisation, static_cast<double>(n));
    double compact_sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t s = st[i];
        const Clamped ac = clamped_arccos(U.row(i).dot(mhat.row(s)), eps);
        compact_sum += ac.theta * ac.theta;
        const double g = w.compactness * nc * 2.0 * ac.theta * ac.dtheta;
        if (g != 0.0) {
            GU.row(i) += g * mhat.row(s);
            Gmhat.row(s) += g * U.row(i);
        }
    }
    if (Gmhat.squaredNorm() > 0.0) {
        RowMatrixD Gmu = RowMatrixD::Zero(S, k);
        for (auto s : present) {
            const double along = Gmhat.row(s).dot(mhat.row(s));
            Gmu.row(s) = (Gmhat.row(s) - along * mhat.row(s)) / (mu_norm[s] * static_cast<double>(count[s]));
        }
        for (std::int64_t i = 0; i < n; ++i) GU.row(i) += Gmu.row(st[i]);
    }

    // From the unit vectors back to z, then the terms that act on z directly.
    RowMatrixD GZ(n, k);
    for (std::int64_t i = 0; i < n; ++i) {
        const double along = GU.row(i).dot(U.row(i));
        GZ.row(i) = (GU.row(i) - along * U.row(i)) / znorm[i];
    }

    // Reconstruction: ||W^T z - x||^2 = z^T (W W^T) z - 2 |z|^2 + |x|^2, so no D-wide residual is formed.
    Eigen::MatrixXd M(k, k); // W W^T by dot products: a GEMM here could be threaded by Eigen itself
    for (std::int64_t a = 0; a < k; ++a)
        for (std::int64_t q = 0; q < k; ++q) M(a, q) = p.W.row(a).dot(p.W.row(q));
    const double nr = normaliser(o.normalisation, static_cast<double>(n) * static_cast<double>(D));
    const double wr = w.reconstruction * nr;
    double rec_sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const Eigen::VectorXd zi = Z.row(i).transpose();
        const Eigen::VectorXd Mz = M * zi;
        rec_sum += zi.dot(Mz) - 2.0 * zi.squaredNorm() + xsq[i];
        GZ.row(i) += (wr * (2.0 * Mz - 4.0 * zi)).transpose();
    }

    // Classification: softmax cross-entropy of the stage head.
    double cls_sum = 0;
    RowMatrixD dhead_W;
    Eigen::VectorXd dhead_b;
    if (has_head) {
        const double ncls = normaliser(o.normalisation, static_cast<double>(n));
        std::vector<RowMatrixD> dW_part(n_row_chunks);
        std::vector<Eigen::VectorXd> db_part(n_row_chunks);
        std::vector<double> ce_part(n_row_chunks, 0.0);
        const double head_work = static_cast<double>(n) * static_cast<double>(S) * static_cast<double>(3 * k);
        for_chunks(n, kRowChunk, threads, head_work, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
            RowMatrixD dW = RowMatrixD::Zero(S, k);
            Eigen::VectorXd db = Eigen::VectorXd::Zero(S);
            double ce = 0;
            for (std::int64_t i = begin; i < end; ++i) {
                const Eigen::VectorXd zi = Z.row(i).transpose();
                Eigen::VectorXd logit = p.head_W * zi + p.head_b;
                const double mx = logit.maxCoeff();
                const double lse = mx + std::log((logit.array() - mx).exp().sum());
                ce += lse - logit[st[i]];
                Eigen::VectorXd g = (logit.array() - lse).exp().matrix();
                g[st[i]] -= 1.0;
                g *= w.classification * ncls;
                GZ.row(i) += (p.head_W.transpose() * g).transpose();
                dW += g * zi.transpose();
                db += g;
            }
            dW_part[c] = std::move(dW);
            db_part[c] = std::move(db);
            ce_part[c] = ce;
        });
        dhead_W = RowMatrixD::Zero(S, k);
        dhead_b = Eigen::VectorXd::Zero(S);
        for (std::int64_t c = 0; c < n_row_chunks; ++c) {
            cls_sum += ce_part[c];
            dhead_W += dW_part[c];
            dhead_b += db_part[c];
        }
    }

    AdaptorLossResult out;
    auto& t = out.terms;
    t.stage = ns * stage_sum;
    t.local = nl * local_sum;
    t.reconstruction = nr * rec_sum;
    t.classification = has_head ? normaliser(o.normalisation, static_cast<double>(n)) * cls_sum : 0.0;
    t.topology = nt * topo_sum;
    t.compactness = nc * compact_sum;
    t.total = w.stage * t.stage + w.local * t.local + w.reconstruction * t.reconstruction +
              w.classification * t.classification + w.topology * t.topology + w.compactness * t.compactness;
    if (!want_gradient) return out;

    // Pass 2: dL/dW = GZ^T X + 2 wr (Z^T Z) W;  dL/db = -(sum_i GZ_i) W - 2 wr sum_i x_i.
    std::vector<RowMatrixD> dW_part(n_row_chunks);
    for_chunks(n, kRowChunk, threads, row_work, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
        RowMatrixD dW = RowMatrixD::Zero(k, D);
        RowMatrixD X = RowMatrixD::Zero(kBlock, D);
        for (std::int64_t i0 = begin; i0 < end; i0 += kBlock) {
            const std::int64_t m = std::min(kBlock, end - i0);
            for (std::int64_t r = 0; r < m; ++r) X.row(r) = rows.row(idx[i0 + r]).cast<double>() - p.b.transpose();
            for (std::int64_t a = 0; a < k; ++a) {
                double g[kBlock] = {};
                for (std::int64_t r = 0; r < m; ++r) g[r] = GZ(i0 + r, a); // a short block adds zeros
                axpy_block(g, X, dW.row(a).data(), D);
            }
        }
        dW_part[c] = std::move(dW);
    });
    auto& g = out.gradient;
    g.W = RowMatrixD::Zero(k, D);
    Eigen::VectorXd xsum = Eigen::VectorXd::Zero(D);
    for (std::int64_t c = 0; c < n_row_chunks; ++c) {
        g.W += dW_part[c];
        xsum += xsum_part[c];
    }
    Eigen::MatrixXd ZtZ = Eigen::MatrixXd::Zero(k, k);
    Eigen::VectorXd gz_sum = Eigen::VectorXd::Zero(k);
    for (std::int64_t i = 0; i < n; ++i) {
        ZtZ += Z.row(i).transpose() * Z.row(i);
        gz_sum += GZ.row(i).transpose();
    }
    // k x k times k x D: a product Eigen would thread on its own, so write it row by row.
    for (std::int64_t a = 0; a < k; ++a)
        for (std::int64_t q = 0; q < k; ++q) g.W.row(a) += (2.0 * wr * ZtZ(a, q)) * p.W.row(q);
    g.b = -2.0 * wr * xsum;
    for (std::int64_t a = 0; a < k; ++a) g.b -= gz_sum[a] * p.W.row(a).transpose();
    g.log_beta = dlog_beta;
    g.head_W = std::move(dhead_W);
    g.head_b = std::move(dhead_b);
    return out;
}

void add_terms(AdaptorLossTerms& acc, const AdaptorLossTerms& t, double scale) {
    acc.total += scale * t.total;
    acc.stage += scale * t.stage;
    acc.local += scale * t.local;
    acc.reconstruction += scale * t.reconstruction;
    acc.classification += scale * t.classification;
    acc.topology += scale * t.topology;
    acc.compactness += scale * t.compactness;
}

// Adam with PyTorch's update rule (torch.optim.Adam, no weight decay, no amsgrad).
struct AdamMoments {
    RowMatrixD mW, vW, mhW, vhW;
    Eigen::VectorXd mb, vb, mhb, vhb;
    double mlb = 0, vlb = 0;
};

template <class P, class G>
void adam_update(P& param, const G& grad, P& m, P& v, const AdaptorOptions& o, double lr, double bc1, double bc2) {
    m = o.adam_beta1 * m + (1.0 - o.adam_beta1) * grad;
    v = o.adam_beta2 * v + (1.0 - o.adam_beta2) * grad.cwiseProduct(grad);
    const double step = lr / bc1;
    const double sqrt_bc2 = std::sqrt(bc2);
    param.array() -= step * m.array() / (v.array().sqrt() / sqrt_bc2 + o.adam_eps);
}

} // namespace

std::string_view adaptor_variant_name(AdaptorVariant variant) {
    switch (variant) {
    case AdaptorVariant::anchor:
        return "anchor";
    case AdaptorVariant::cell:
        return "cell";
    case AdaptorVariant::hybrid:
        return "hybrid";
    }
    return "anchor";
}

AdaptorVariant parse_adaptor_variant(std::string_view name) {
    if (name == "anchor") return AdaptorVariant::anchor;
    if (name == "cell") return AdaptorVariant::cell;
    if (name == "hybrid") return AdaptorVariant::hybrid;
    throw UsageError(fmt::format("unknown adaptor variant '{}' (expected anchor, cell or hybrid)", name));
}

AdaptorOptions adaptor_options(AdaptorVariant variant) {
    AdaptorOptions o;
    o.variant = variant;
    if (variant == AdaptorVariant::anchor) return o;
    o.loss.weights.stage = 1.0;
    o.loss.weights.local = 0.1;
    o.loss.weights.reconstruction = 0.08;
    o.loss.weights.classification = 0.4;
    o.epochs = 120;
    o.batch_size = 896;
    if (variant == AdaptorVariant::hybrid) {
        o.loss.weights.topology = 0.05;
        o.loss.weights.compactness = 0.0;
    }
    return o;
}

AdaptorLossResult adaptor_loss(const AdaptorParameters& parameters, const RowMatrixF& rows,
                               const std::vector<std::int64_t>& stage_of_row, const Eigen::MatrixXd& stage_distance,
                               const AdaptorLossOptions& options, int threads) {
    check_problem(rows.rows(), rows.cols(), stage_of_row, stage_distance);
    check_parameters(parameters, rows.cols(), stage_distance.rows());
    std::vector<std::int64_t> all(static_cast<std::size_t>(rows.rows()));
    std::iota(all.begin(), all.end(), std::int64_t{0});
    return evaluate(parameters, rows, all, stage_of_row, stage_distance, options, threads, true);
}

AdaptorParameters initial_adaptor_parameters(const RowMatrixF& rows, const std::vector<std::int64_t>& stage_of_row,
                                             const Eigen::MatrixXd& stage_distance, const AdaptorOptions& options) {
    check_problem(rows.rows(), rows.cols(), stage_of_row, stage_distance);
    const std::int64_t n = rows.rows(), D = rows.cols(), k = options.k;
    if (k < 1 || k > D) throw Error(fmt::format("adaptor: k = {} must lie in [1, {}] (the feature count)", k, D));

    AdaptorParameters p;
    // Orthonormal rows: W^T W is then a projection and the tied decoder starts as one.
    Rng rng(options.seed, 0);
    p.W.resize(k, D);
    for (std::int64_t a = 0; a < k; ++a)
        for (std::int64_t d = 0; d < D; ++d) p.W(a, d) = rng.normal();
    for (std::int64_t a = 0; a < k; ++a) {
        for (std::int64_t q = 0; q < a; ++q) p.W.row(a) -= p.W.row(a).dot(p.W.row(q)) * p.W.row(q);
        p.W.row(a) /= p.W.row(a).norm();
    }

    p.b = Eigen::VectorXd::Zero(D);
    for (std::int64_t i = 0; i < n; ++i) p.b += rows.row(i).cast<double>().transpose();
    p.b /= static_cast<double>(n);

    if (std::isfinite(options.initial_beta)) {
        if (!(options.initial_beta > 0.0))
            throw Error(fmt::format("adaptor: initial beta {} is not positive", options.initial_beta));
        p.log_beta = std::log(options.initial_beta);
    } else {
        // Least-squares beta for the initial angles: sum theta d / sum theta^2 over up to 1,024 rows.
        std::vector<std::int64_t> pick(static_cast<std::size_t>(n));
        std::iota(pick.begin(), pick.end(), std::int64_t{0});
        constexpr std::int64_t kBetaRows = 1024;
        if (n > kBetaRows) {
            Rng pick_rng(options.seed, 1);
            for (std::int64_t i = 0; i < kBetaRows; ++i)
                std::swap(pick[i],
                          pick[i + static_cast<std::int64_t>(pick_rng.below(static_cast<std::uint64_t>(n - i)))]);
            pick.resize(kBetaRows);
            std::sort(pick.begin(), pick.end());
        }
        const std::int64_t m = static_cast<std::int64_t>(pick.size());
        RowMatrixD U(m, k);
        RowVectorD x(D);
        for (std::int64_t i = 0; i < m; ++i) {
            x = rows.row(pick[i]).cast<double>() - p.b.transpose();
            for (std::int64_t a = 0; a < k; ++a) U(i, a) = p.W.row(a).dot(x);
            U.row(i) /= std::max(U.row(i).norm(), kMinNorm);
        }
        double td = 0, tt = 0;
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < m; ++j) {
                if (i == j) continue;
                const double theta = clamped_arccos(U.row(i).dot(U.row(j)), options.loss.clamp_eps).theta;
                td += theta * stage_distance(stage_of_row[pick[i]], stage_of_row[pick[j]]);
                tt += theta * theta;
            }
        const double beta = tt > 0 ? td / tt : 1.0;
        p.log_beta = std::isfinite(beta) && beta > 0 ? std::log(beta) : 0.0;
    }

    if (options.loss.weights.classification != 0.0) {
        p.head_W = RowMatrixD::Zero(stage_distance.rows(), k);
        p.head_b = Eigen::VectorXd::Zero(stage_distance.rows());
    }
    return p;
}

AdaptorFitResult fit_adaptor(const RowMatrixF& rows, const std::vector<std::int64_t>& stage_of_row,
                             const Eigen::MatrixXd& stage_distance, const AdaptorOptions& options) {
    return fit_adaptor(rows, stage_of_row, stage_distance, options,
                       initial_adaptor_parameters(rows, stage_of_row, stage_distance, options));
}

AdaptorFitResult fit_adaptor(const RowMatrixF& rows, const std::vector<std::int64_t>& stage_of_row,
                             const Eigen::MatrixXd& stage_distance, const AdaptorOptions& options,
                             AdaptorParameters initial) {
    check_problem(rows.rows(), rows.cols(), stage_of_row, stage_distance);
    const std::int64_t n = rows.rows(), S = stage_distance.rows();
    if (options.loss.weights.classification != 0.0 && initial.head_W.size() == 0) {
        initial.head_W = RowMatrixD::Zero(S, initial.W.rows());
        initial.head_b = Eigen::VectorXd::Zero(S);
    }
    check_parameters(initial, rows.cols(), S);
    if (options.epochs < 0) throw Error(fmt::format("adaptor: epochs = {} is negative", options.epochs));
    if (options.batch_size < 0 || options.batch_size == 1)
        throw Error(fmt::format("adaptor: batch size {} (needs 0 for full batch, or >= 2)", options.batch_size));
    if (!(options.learning_rate > 0.0)) throw Error("adaptor: the learning rate must be positive");
    if (!(options.loss.clamp_eps > 0.0 && options.loss.clamp_eps < 1.0))
        throw Error(fmt::format("adaptor: clamp eps {} must lie in (0, 1)", options.loss.clamp_eps));

    const std::int64_t batch = options.batch_size == 0 ? n : std::min(options.batch_size, n);
    const std::int64_t n_batches = (n + batch - 1) / batch;

    AdaptorParameters p = std::move(initial);
    AdamMoments mo;
    mo.mW = RowMatrixD::Zero(p.W.rows(), p.W.cols());
    mo.vW = mo.mW;
    mo.mb = Eigen::VectorXd::Zero(p.b.size());
    mo.vb = mo.mb;
    mo.mhW = RowMatrixD::Zero(p.head_W.rows(), p.head_W.cols());
    mo.vhW = mo.mhW;
    mo.mhb = Eigen::VectorXd::Zero(p.head_b.size());
    mo.vhb = mo.mhb;

    AdaptorFitResult out;
    out.loss_history.reserve(static_cast<std::size_t>(options.epochs));
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::vector<std::vector<std::int64_t>> batches(static_cast<std::size_t>(n_batches));
    const auto partition = [&](std::int64_t epoch) {
        std::iota(order.begin(), order.end(), std::int64_t{0});
        if (n_batches > 1) {
            Rng rng(options.seed, 2 + static_cast<std::uint64_t>(epoch));
            for (std::int64_t i = n - 1; i > 0; --i)
                std::swap(order[i], order[static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
        }
        for (std::int64_t bi = 0; bi < n_batches; ++bi) {
            // Sizes differ by at most one; sorted for memory locality (the result does not depend on it).
            const std::int64_t begin = bi * n / n_batches, end = (bi + 1) * n / n_batches;
            batches[bi].assign(order.begin() + begin, order.begin() + end);
            std::sort(batches[bi].begin(), batches[bi].end());
        }
    };
    if (options.epochs == 0) partition(0);

    const std::int64_t total_steps = options.epochs * n_batches;
    std::int64_t t = 0;
    for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
        partition(epoch);
        double epoch_loss = 0;
        for (const auto& idx : batches) {
            const AdaptorLossResult r =
                evaluate(p, rows, idx, stage_of_row, stage_distance, options.loss, options.threads, true);
            if (!std::isfinite(r.terms.total))
                throw Error(
                    fmt::format("adaptor: the loss became {} at step {} (lower the learning rate?)", r.terms.total, t));
            epoch_loss += r.terms.total;
            ++t;
            const double bc1 = 1.0 - std::pow(options.adam_beta1, static_cast<double>(t));
            const double bc2 = 1.0 - std::pow(options.adam_beta2, static_cast<double>(t));
            // Step t (1-based) of total_steps: cosine from lr at the first step towards 0 after the last.
            const double lr = options.cosine_decay ? 0.5 * options.learning_rate *
                                                         (1.0 + std::cos(std::numbers::pi * static_cast<double>(t - 1) /
                                                                         static_cast<double>(total_steps)))
                                                   : options.learning_rate;
            const auto& g = r.gradient;
            adam_update(p.W, g.W, mo.mW, mo.vW, options, lr, bc1, bc2);
            if (options.learn_bias) adam_update(p.b, g.b, mo.mb, mo.vb, options, lr, bc1, bc2);
            Eigen::Matrix<double, 1, 1> lb{p.log_beta}, glb{g.log_beta}, mlb{mo.mlb}, vlb{mo.vlb};
            adam_update(lb, glb, mlb, vlb, options, lr, bc1, bc2);
            p.log_beta = lb[0];
            mo.mlb = mlb[0];
            mo.vlb = vlb[0];
            if (p.head_W.size() > 0) {
                adam_update(p.head_W, g.head_W, mo.mhW, mo.vhW, options, lr, bc1, bc2);
                adam_update(p.head_b, g.head_b, mo.mhb, mo.vhb, options, lr, bc1, bc2);
            }
        }
        out.loss_history.push_back(epoch_loss / static_cast<double>(n_batches));
    }
    out.steps = t;

    for (const auto& idx : batches)
        add_terms(out.final_terms,
                  evaluate(p, rows, idx, stage_of_row, stage_distance, options.loss, options.threads, false).terms,
                  1.0 / static_cast<double>(n_batches));
    out.final_loss = out.final_terms.total;

    out.adaptor.W = p.W.cast<float>();
    out.adaptor.b = p.b.cast<float>();
    out.adaptor.beta = std::exp(p.log_beta);
    out.parameters = std::move(p);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Applying a fitted adaptor (float, one row at a time so the result never depends on threads).

namespace {

AdaptorEncoding encode_impl(const Adaptor& ad, const RowMatrixF& f, int threads, bool want_z, bool want_error) {
    const std::int64_t k = ad.k(), D = ad.n_features(), n = f.rows();
    if (f.cols() != D)
        throw Error(fmt::format("adaptor: the input has {} features but the adaptor expects {}", f.cols(), D));
    if (ad.b.size() != D) throw Error(fmt::format("adaptor: b has {} entries, W has {} columns", ad.b.size(), D));
    AdaptorEncoding out;
    out.z.resize(want_z ? n : 0, k);
    out.reconstruction_error.resize(want_error ? n : 0);
    constexpr std::int64_t kEncodeChunk = 256;
    const double work = static_cast<double>(n) * static_cast<double>(D) * static_cast<double>(2 * k);
    for_chunks(n, kEncodeChunk, threads, work, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        Eigen::RowVectorXf x(D), r(D);
        Eigen::RowVectorXf z(k);
        for (std::int64_t i = begin; i < end; ++i) {
            x = f.row(i) - ad.b.transpose();
            for (std::int64_t a = 0; a < k; ++a) z[a] = ad.W.row(a).dot(x);
            if (want_z) out.z.row(i) = z;
            if (want_error) {
                r = -x;
                for (std::int64_t a = 0; a < k; ++a) r += z[a] * ad.W.row(a);
                out.reconstruction_error[i] =
                    static_cast<float>(r.cast<double>().squaredNorm() / static_cast<double>(D));
            }
        }
    });
    return out;
}

} // namespace

RowMatrixF Adaptor::encode(const RowMatrixF& f, int threads) const {
    return encode_impl(*this, f, threads, true, false).z;
}

VectorF Adaptor::reconstruction_error(const RowMatrixF& f, int threads) const {
    return encode_impl(*this, f, threads, false, true).reconstruction_error;
}

AdaptorEncoding Adaptor::encode_with_error(const RowMatrixF& f, int threads) const {
    return encode_impl(*this, f, threads, true, true);
}

// ---------------------------------------------------------------------------------------------
// Row selection for the anchor and cell variants.

AnchorSet make_anchors(const RowMatrixF& features, const std::vector<std::int64_t>& stage_of_cell,
                       const std::vector<std::vector<std::int64_t>>& group_keys, const AnchorOptions& options) {
    const std::int64_t n = features.rows(), D = features.cols();
    if (static_cast<std::int64_t>(stage_of_cell.size()) != n)
        throw Error(fmt::format("anchors: {} cells but {} stage indices", n, stage_of_cell.size()));
    for (std::size_t q = 0; q < group_keys.size(); ++q)
        if (static_cast<std::int64_t>(group_keys[q].size()) != n)
            throw Error(fmt::format("anchors: group key {} has {} codes for {} cells", q, group_keys[q].size(), n));
    if (options.min_cells < 1) throw Error(fmt::format("anchors: min_cells = {} must be >= 1", options.min_cells));

    std::map<std::vector<std::int64_t>, std::vector<std::int64_t>> groups;
    std::vector<std::int64_t> key(group_keys.size() + 1);
    for (std::int64_t i = 0; i < n; ++i) {
        if (stage_of_cell[i] < 0) continue;
        for (std::size_t q = 0; q < group_keys.size(); ++q) key[q] = group_keys[q][i];
        key.back() = stage_of_cell[i];
        groups[key].push_back(i);
    }
    std::vector<const std::vector<std::int64_t>*> members;
    AnchorSet out;
    for (const auto& [gk, cells] : groups) {
        if (static_cast<std::int64_t>(cells.size()) < options.min_cells) continue;
        out.keys.emplace_back(gk.begin(), gk.end() - 1);
        out.stage.push_back(gk.back());
        out.n_cells.push_back(static_cast<std::int64_t>(cells.size()));
        members.push_back(&cells);
    }
    const std::int64_t m = static_cast<std::int64_t>(members.size());
    out.rows.resize(m, D);
    parallel_for(m, 1, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        Eigen::RowVectorXd sum(D);
        for (std::int64_t a = begin; a < end; ++a) {
            sum.setZero();
            for (auto i : *members[a]) sum += features.row(i).cast<double>();
            out.rows.row(a) = (sum / static_cast<double>(members[a]->size())).cast<float>();
        }
    });
    return out;
}

std::vector<std::int64_t> balance_stages(const std::vector<std::int64_t>& stage_of_row, std::int64_t max_per_stage,
                                         std::uint64_t seed) {
    if (max_per_stage < 1) throw Error(fmt::format("balance_stages: max_per_stage = {} must be >= 1", max_per_stage));
    std::map<std::int64_t, std::vector<std::int64_t>> by_stage;
    for (std::size_t i = 0; i < stage_of_row.size(); ++i)
        if (stage_of_row[i] >= 0) by_stage[stage_of_row[i]].push_back(static_cast<std::int64_t>(i));
    std::vector<std::int64_t> out;
    for (auto& [stage, rows] : by_stage) {
        const std::int64_t m = static_cast<std::int64_t>(rows.size());
        if (m > max_per_stage) {
            // A stream per stage, so one stage's sample does not depend on the others.
            Rng rng(seed, static_cast<std::uint64_t>(stage));
            for (std::int64_t i = 0; i < max_per_stage; ++i)
                std::swap(rows[i], rows[i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(m - i)))]);
            rows.resize(max_per_stage);
        }
        out.insert(out.end(), rows.begin(), rows.end());
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace scx
