#include "scextract/readout/apply_plan.hpp"

#include "scextract/core/error.hpp"

#include <fmt/format.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace scx {

std::optional<FoldedApplyPlan> make_folded_apply_plan(const Algorithm& a) {
    const auto& op = a.features;
    const std::int64_t G = op.n_genes(), D = op.n_features(), k = a.adaptor_W.rows();
    if (op.blocks.empty()) return std::nullopt;
    for (const auto& b : op.blocks)
        if (b.form == FeatureBlock::Form::dense) return std::nullopt;
    if (a.adaptor_W.cols() != D || a.adaptor_b.size() != D || a.feature_mean.size() != D || a.feature_sd.size() != D)
        throw Error(fmt::format("algorithm: {} features, but the adaptor is {} x {} with {} biases and the standardiser "
                                "has {} means and {} sds",
                                D, a.adaptor_W.rows(), a.adaptor_W.cols(), a.adaptor_b.size(), a.feature_mean.size(),
                                a.feature_sd.size()));
    FoldedApplyPlan p;
    p.n_genes = G;
    p.k = k;
    p.n_features = D;
    p.rank_offset.push_back(0);
    // read (G x r) and write (r x G) sides of each block, in double
    std::vector<RowMatrixD> read, write;
    for (const auto& b : op.blocks) {
        if (b.form == FeatureBlock::Form::low_rank) {
            if (b.left.rows() != G || b.right.cols() != G || b.left.cols() != b.right.rows())
                throw Error(fmt::format("feature block '{}': low-rank factors are {} x {} and {} x {} (panel of {} genes)",
                                        b.name, b.left.rows(), b.left.cols(), b.right.rows(), b.right.cols(), G));
            read.push_back(b.left.cast<double>());
            write.push_back(b.right.cast<double>());
        } else {
            const auto r = static_cast<Eigen::Index>(b.factors.size());
            RowMatrixD l = RowMatrixD::Zero(G, r), w = RowMatrixD::Zero(r, G);
            for (Eigen::Index f = 0; f < r; ++f) {
                const auto& sf = b.factors[static_cast<std::size_t>(f)];
                if (sf.read_genes.size() != sf.read_weights.size() || sf.write_genes.size() != sf.write_weights.size())
                    throw Error(fmt::format("feature block '{}': a sparse factor's genes and weights differ in length", b.name));
                for (std::size_t i = 0; i < sf.read_genes.size(); ++i) {
                    if (sf.read_genes[i] < 0 || sf.read_genes[i] >= G)
                        throw Error(fmt::format("feature block '{}': read gene position {} out of range", b.name, sf.read_genes[i]));
                    l(sf.read_genes[i], f) += static_cast<double>(sf.read_weights[i]) * sf.scale;
                }
                for (std::size_t i = 0; i < sf.write_genes.size(); ++i) {
                    if (sf.write_genes[i] < 0 || sf.write_genes[i] >= G)
                        throw Error(fmt::format("feature block '{}': write gene position {} out of range", b.name, sf.write_genes[i]));
                    w(f, sf.write_genes[i]) += sf.write_weights[i];
                }
            }
            read.push_back(std::move(l));
            write.push_back(std::move(w));
        }
        p.rank_offset.push_back(p.rank_offset.back() + read.back().cols());
    }
    p.rank = p.rank_offset.back();
    const RowMatrixD W = a.adaptor_W.cast<double>();
    const Eigen::VectorXd inv_sd = a.feature_sd.cast<double>().cwiseInverse();
    const Eigen::VectorXd c = a.feature_mean.cast<double>().cwiseProduct(inv_sd) + a.adaptor_b.cast<double>();
    p.L.resize(G, p.rank);
    p.P.resize(p.rank, k);
    p.q.resize(p.rank);
    for (std::size_t b = 0; b < read.size(); ++b) {
        const auto off = p.rank_offset[b], r = p.rank_offset[b + 1] - off;
        const auto col = static_cast<Eigen::Index>(b) * G;
        const Eigen::VectorXd isd = inv_sd.segment(col, G);
        p.L.middleCols(off, r) = read[b];
        const RowMatrixD scaled = write[b] * isd.asDiagonal(); // R_b diag(1/sd_b)
        p.P.middleRows(off, r) = scaled * W.middleCols(col, G).transpose();
        p.Q.push_back(scaled * scaled.transpose());
        p.q.segment(off, r) = (scaled * c.segment(col, G)).transpose();
    }
    p.z0 = (W * c).transpose();
    p.c_sq = c.squaredNorm();
    p.WWt = W * W.transpose();
    return p;
}

namespace {

/// u[j] = sum_e v[e] L(pos[e], j) over @p n values for the columns from @p j0 on, kStrip at a
/// time while kStrip are left; returns the first column not done. A strip is summed in
/// registers over all the values, each u[j] as fma(v_n, L_nj, ... fma(v_0, L_0j, 0)) in stored
/// order: one rounding per term, so the same bits at every strip width and vector width, and
/// on a CPU without fused multiply-add (where fma is done in software).
template <std::int64_t kStrip>
inline __attribute__((always_inline)) std::int64_t gather_strips(const RowMatrixD& L, const float* v,
                                                                 const std::int32_t* pos, std::int64_t n, double* u,
                                                                 std::int64_t j0) {
    for (; j0 + kStrip <= L.cols(); j0 += kStrip) {
        double acc[kStrip] = {};
        for (std::int64_t e = 0; e < n; ++e) {
            const double ve = v[e];
            const double* l = L.row(pos[e]).data() + j0;
            for (std::int64_t j = 0; j < kStrip; ++j) acc[j] = __builtin_fma(ve, l[j], acc[j]);
        }
        for (std::int64_t j = 0; j < kStrip; ++j) u[j0 + j] = acc[j];
    }
    return j0;
}

/// u = x L for one cell: gather_strips() for the columns from @p j0 on, then single columns.
inline __attribute__((always_inline)) void gather_tail(const RowMatrixD& L, const float* v, const std::int32_t* pos,
                                                       std::int64_t n, double* u, std::int64_t j0) {
    j0 = gather_strips<16>(L, v, pos, n, u, j0);
    j0 = gather_strips<4>(L, v, pos, n, u, j0);
    gather_strips<1>(L, v, pos, n, u, j0);
}

#if defined(__x86_64__) || defined(__i386__)
/// gather_strips() by hand in vector registers, as function NAME compiled for TARGET: eight
/// accumulators of type V (a compiler keeps an array of 64 doubles on the stack), each the
/// same chain of fused multiply-adds per column as the scalar code; eight chains hide the
/// instruction's latency. The columns left over go to gather_tail().
#define SCX_GATHER_ROWS(NAME, TARGET, V, LANES, ZERO, SET1, LOAD, FMADD, STORE)                               \
    __attribute__((target(TARGET))) void NAME(const RowMatrixD& L, const float* v, const std::int32_t* pos,   \
                                              std::int64_t n, double* u) {                                    \
        std::int64_t j0 = 0;                                                                                  \
        for (; j0 + 8 * (LANES) <= L.cols(); j0 += 8 * (LANES)) {                                             \
            V acc[8];                                                                                         \
            _Pragma("GCC unroll 8") for (int r = 0; r < 8; ++r) acc[r] = ZERO();                              \
            for (std::int64_t e = 0; e < n; ++e) {                                                            \
                const V ve = SET1(static_cast<double>(v[e]));                                                 \
                const double* l = L.row(pos[e]).data() + j0;                                                  \
                _Pragma("GCC unroll 8") for (int r = 0; r < 8; ++r) acc[r] = FMADD(ve, LOAD(l + r * (LANES)), acc[r]); \
            }                                                                                                 \
            _Pragma("GCC unroll 8") for (int r = 0; r < 8; ++r) STORE(u + j0 + r * (LANES), acc[r]);          \
        }                                                                                                     \
        gather_tail(L, v, pos, n, u, j0);                                                                     \
    }

SCX_GATHER_ROWS(gather_rows_avx512, "avx512f", __m512d, 8, _mm512_setzero_pd, _mm512_set1_pd, _mm512_loadu_pd,
                _mm512_fmadd_pd, _mm512_storeu_pd)
SCX_GATHER_ROWS(gather_rows_avx2, "avx2,fma", __m256d, 4, _mm256_setzero_pd, _mm256_set1_pd, _mm256_loadu_pd,
                _mm256_fmadd_pd, _mm256_storeu_pd)
#undef SCX_GATHER_ROWS

void gather_row(const RowMatrixD& L, const float* v, const std::int32_t* pos, std::int64_t n, double* u) {
    static const bool avx512 = __builtin_cpu_supports("avx512f");
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx512) gather_rows_avx512(L, v, pos, n, u);
    else if (avx2) gather_rows_avx2(L, v, pos, n, u);
    else gather_tail(L, v, pos, n, u, 0);
}
#else
void gather_row(const RowMatrixD& L, const float* v, const std::int32_t* pos, std::int64_t n, double* u) {
    gather_tail(L, v, pos, n, u, 0);
}
#endif

} // namespace

void folded_encode(const FoldedApplyPlan& p, const SparsePanelExpression& x, RowMatrixF& z, Eigen::VectorXf& error) {
    const auto n = static_cast<Eigen::Index>(x.indptr.size()) - 1;
    // U = x L from the cell's non-zero panel values, in their stored order
    RowMatrixD U(n, p.rank);
    for (Eigen::Index i = 0; i < n; ++i) {
        const auto e0 = x.indptr[i];
        gather_row(p.L, x.value.data() + e0, x.position.data() + e0, x.indptr[i + 1] - e0, U.row(i).data());
    }
    RowMatrixD Z = U * p.P;
    Z.rowwise() -= p.z0;
    // |s - b|^2 from the Gram terms, block by block
    Eigen::VectorXd xsq = Eigen::VectorXd::Constant(n, p.c_sq) - 2.0 * (U * p.q.transpose());
    for (std::size_t b = 0; b < p.Q.size(); ++b) {
        const auto off = p.rank_offset[b], r = p.rank_offset[b + 1] - off;
        const auto Ub = U.middleCols(off, r);
        const RowMatrixD UQ = Ub * p.Q[b];
        xsq += UQ.cwiseProduct(Ub).rowwise().sum();
    }
    const RowMatrixD ZM = Z * p.WWt;
    const Eigen::VectorXd zMz = ZM.cwiseProduct(Z).rowwise().sum();
    const Eigen::VectorXd zz = Z.rowwise().squaredNorm();
    z = Z.cast<float>();
    // a near-perfect reconstruction can round below zero; the exact error never is
    error = ((zMz - 2.0 * zz + xsq) / static_cast<double>(p.n_features)).cwiseMax(0.0).cast<float>();
}

} // namespace scx
