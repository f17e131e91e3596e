#include "scextract/model/scgpt_forward.hpp"

#include "scextract/core/blas_threads.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SCX_FORWARD_X86 1
#endif

#include <fmt/format.h>

namespace scx {

namespace {

// ---- small kernels ---------------------------------------------------------------

/// C[m x n] (+)= alpha * A[m x k] * op(B), all row-major. op(B) = B^T when
/// @p b_transposed (B stored [n x k], as torch Linear weights are).
inline void gemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t lda,
                 const float* b, std::int64_t ldb, bool b_transposed, float beta, float* c, std::int64_t ldc) {
    // dimensions were checked to fit int (check_cells), which every CBLAS integer type holds
    cblas_sgemm(CblasRowMajor, CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
                c, static_cast<int>(ldc));
}

/// Every row of the [rows x n] matrix @p c (leading dimension @p ldc) set to @p bias;
/// the GEMM then accumulates onto it (beta = 1), as torch's addmm does.
inline void fill_rows(float* c, std::int64_t rows, std::int64_t n, std::int64_t ldc, const float* bias) {
    for (std::int64_t i = 0; i < rows; ++i) std::memcpy(c + i * ldc, bias, static_cast<std::size_t>(n) * sizeof(float));
}

inline void relu_inplace(float* x, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0F ? x[i] : 0.0F;
}

/// out = LayerNorm(x (+ r)) with weight @p w and bias @p b over @p d features;
/// statistics in double (the biased variance, as torch uses). @p out may alias @p x.
inline void layer_norm(const float* x, const float* r, const float* w, const float* b, std::int64_t d, double eps,
                       float* out, float* scratch) {
    const float* y = x;
    if (r != nullptr) {
        for (std::int64_t j = 0; j < d; ++j) scratch[j] = x[j] + r[j];
        y = scratch;
    }
    double sum = 0.0;
    for (std::int64_t j = 0; j < d; ++j) sum += y[j];
    const double mean = sum / static_cast<double>(d);
    double ss = 0.0;
    for (std::int64_t j = 0; j < d; ++j) {
        const double c = y[j] - mean;
        ss += c * c;
    }
    const auto rstd = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    const auto m = static_cast<float>(mean);
    for (std::int64_t j = 0; j < d; ++j) out[j] = (y[j] - m) * rstd * w[j] + b[j];
}

// Softmax over each row. exp is the hot transcendental (L^2 per head), so x86 with
// AVX2 + FMA gets a vectorised exp: Cody-Waite reduction to [-ln2/2, ln2/2] and a
// degree-6 polynomial, max error about 2 ulp. Every element of a row (tails too)
// goes through the same arithmetic, so results depend only on the row's values.

void softmax_rows_scalar(float* s, std::int64_t rows, std::int64_t n, std::int64_t lds) {
    for (std::int64_t i = 0; i < rows; ++i) {
        float* row = s + i * lds;
        float mx = -std::numeric_limits<float>::infinity();
        for (std::int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j]);
        float sum = 0.0F;
        for (std::int64_t j = 0; j < n; ++j) {
            row[j] = std::exp(row[j] - mx);
            sum += row[j];
        }
        const float inv = 1.0F / sum;
        for (std::int64_t j = 0; j < n; ++j) row[j] *= inv;
    }
}

#ifdef SCX_FORWARD_X86
__attribute__((target("avx2,fma"))) inline __m256 exp_avx2(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3365478515625F); // exp(lo) ~ FLT_MIN: no denormals
    const __m256 hi = _mm256_set1_ps(88.37626F);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341F)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - k ln2, with ln2 split in two so k * ln2_hi is exact.
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375F), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4F), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4F);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3F));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3F));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2F));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1F));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1F));
    const __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0F)));
    // times 2^k through the exponent bits (k in [-126, 127] after the clamp)
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) inline float hsum_avx2(__m256 v) {
    // fixed pairing: (0+4, 1+5, 2+6, 3+7), then (a+c, b+d), then the last pair
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 h = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}

__attribute__((target("avx2,fma"))) inline float hmax_avx2(__m256 v) {
    const __m128 q = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 h = _mm_max_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
}

__attribute__((target("avx2,fma"))) void softmax_rows_avx2(float* s, std::int64_t rows, std::int64_t n,
                                                           std::int64_t lds) {
    const std::int64_t full = n / 8 * 8;
    const std::int64_t tail = n - full;
    alignas(32) std::int32_t mask_bits[8];
    for (int t = 0; t < 8; ++t) mask_bits[t] = t < tail ? -1 : 0;
    const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(mask_bits));
    const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (std::int64_t i = 0; i < rows; ++i) {
        float* row = s + i * lds;
        __m256 vmax = neg_inf;
        for (std::int64_t j = 0; j < full; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + j));
        __m256 vtail = neg_inf;
        if (tail > 0) {
            vtail = _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(row + full, mask), _mm256_castsi256_ps(mask));
            vmax = _mm256_max_ps(vmax, vtail);
        }
        const __m256 mx = _mm256_set1_ps(hmax_avx2(vmax));
        __m256 vsum = _mm256_setzero_ps();
        for (std::int64_t j = 0; j < full; j += 8) {
            const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(row + j), mx));
            _mm256_storeu_ps(row + j, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        if (tail > 0) {
            const __m256 e = _mm256_and_ps(exp_avx2(_mm256_sub_ps(vtail, mx)), _mm256_castsi256_ps(mask));
            _mm256_maskstore_ps(row + full, mask, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        const __m256 inv = _mm256_set1_ps(1.0F / hsum_avx2(vsum));
        for (std::int64_t j = 0; j < full; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), inv));
        if (tail > 0)
            _mm256_maskstore_ps(row + full, mask, _mm256_mul_ps(_mm256_maskload_ps(row + full, mask), inv));
    }
}

bool have_avx2_fma() {
    static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ok;
}
#endif

void softmax_rows(float* s, std::int64_t rows, std::int64_t n, std::int64_t lds) {
#ifdef SCX_FORWARD_X86
    if (have_avx2_fma()) {
        softmax_rows_avx2(s, rows, n, lds);
        return;
    }
#endif
    softmax_rows_scalar(s, rows, n, lds);
}

// ---- checks ----------------------------------------------------------------------

void check_shape(const RowMatrixF& m, std::int64_t rows, std::int64_t cols, const std::string& name) {
    if (m.rows() != rows || m.cols() != cols)
        throw Error(fmt::format("scGPT weights: {} is {} x {}, expected {} x {}", name, m.rows(), m.cols(), rows, cols));
}

void check_shape(const VectorF& v, std::int64_t n, const std::string& name) {
    if (v.size() != n) throw Error(fmt::format("scGPT weights: {} has {} entries, expected {}", name, v.size(), n));
}

void check_weights(const ScGptWeights& w) {
    const auto& c = w.config;
    const std::int64_t d = c.d_model;
    if (d <= 0 || c.n_heads <= 0 || d % c.n_heads != 0 || c.d_hid <= 0)
        throw Error(fmt::format("scGPT weights: config has d_model {}, n_heads {}, d_hid {} (n_heads must divide d_model)",
                                d, c.n_heads, c.d_hid));
    if (static_cast<std::int64_t>(w.layers.size()) != c.n_layers)
        throw Error(fmt::format("scGPT weights: {} layers but the config says {}", w.layers.size(), c.n_layers));
    if (w.gene_embedding.rows() <= 0 || w.gene_embedding.cols() != d)
        throw Error(fmt::format("scGPT weights: encoder.embedding.weight is {} x {}, expected vocab x {}",
                                w.gene_embedding.rows(), w.gene_embedding.cols(), d));
    check_shape(w.enc_norm_w, d, "encoder.enc_norm.weight");
    check_shape(w.enc_norm_b, d, "encoder.enc_norm.bias");
    check_shape(w.value_W1, d, 1, "value_encoder.linear1.weight");
    check_shape(w.value_b1, d, "value_encoder.linear1.bias");
    check_shape(w.value_W2, d, d, "value_encoder.linear2.weight");
    check_shape(w.value_b2, d, "value_encoder.linear2.bias");
    check_shape(w.value_norm_w, d, "value_encoder.norm.weight");
    check_shape(w.value_norm_b, d, "value_encoder.norm.bias");
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        const auto& L = w.layers[l];
        const std::string p = fmt::format("transformer_encoder.layers.{}.", l);
        check_shape(L.Wqkv, 3 * d, d, p + "self_attn.Wqkv.weight");
        check_shape(L.bqkv, 3 * d, p + "self_attn.Wqkv.bias");
        check_shape(L.Wo, d, d, p + "self_attn.out_proj.weight");
        check_shape(L.bo, d, p + "self_attn.out_proj.bias");
        check_shape(L.W1, c.d_hid, d, p + "linear1.weight");
        check_shape(L.b1, c.d_hid, p + "linear1.bias");
        check_shape(L.W2, d, c.d_hid, p + "linear2.weight");
        check_shape(L.b2, d, p + "linear2.bias");
        check_shape(L.norm1_w, d, p + "norm1.weight");
        check_shape(L.norm1_b, d, p + "norm1.bias");
        check_shape(L.norm2_w, d, p + "norm2.weight");
        check_shape(L.norm2_b, d, p + "norm2.bias");
    }
}

// L^2 and L * 3d must fit BLAS's 32-bit dimensions and leading dimensions.
constexpr std::int64_t kMaxTokens = 46340;

void check_cells(const std::vector<TokenizedCell>& cells, std::int64_t vocab, std::int64_t d) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto& c = cells[i];
        if (c.gene_ids.size() != c.values.size())
            throw Error(fmt::format("cell {}: {} gene ids but {} values", i, c.gene_ids.size(), c.values.size()));
        const auto n = static_cast<std::int64_t>(c.gene_ids.size());
        if (n == 0) throw Error(fmt::format("cell {}: no tokens", i));
        if (n > kMaxTokens || n * 3 * d > std::numeric_limits<int>::max())
            throw Error(fmt::format("cell {}: {} tokens is more than the forward pass supports", i, n));
        for (std::int64_t t = 0; t < n; ++t) {
            const auto id = c.gene_ids[t];
            if (id < 0 || id >= vocab)
                throw Error(fmt::format("cell {}, token {}: gene id {} is outside the vocabulary [0, {})", i, t, id, vocab));
            const float v = c.values[t];
            if (std::isnan(v) || v == -std::numeric_limits<float>::infinity())
                throw Error(fmt::format("cell {}, token {}: value is {}", i, t, v));
        }
    }
}

// ---- the forward pass --------------------------------------------------------------

/// Scratch buffers for cells of up to @p max_len tokens, reused across a chunk's cells.
struct Workspace {
    Workspace(std::int64_t max_len, std::int64_t d, std::int64_t d_hid)
        : x(max_len * d), qkv(max_len * 3 * d), probs(max_len * max_len), attn(max_len * d), tmp(max_len * d),
          hid(max_len * std::max(d, d_hid)), row(d) {}
    std::vector<float> x, qkv, probs, attn, tmp, hid, row;
};

class Forward {
public:
    Forward(const ScGptWeights& w, const ScGptForwardOptions& o, std::int64_t n_layers)
        : w_(w), o_(o), d_(w.config.d_model), heads_(w.config.n_heads), dh_(d_ / heads_), d_hid_(w.config.d_hid),
          n_layers_(n_layers), eps_(o.layer_norm_eps), scale_(1.0F / std::sqrt(static_cast<float>(dh_))) {}

    /// Final states of @p cell (index @p index in chunk @p chunk) into ws.x ([L, d]); with
    /// want_pad_state, the padding token's state follows as row L.
    void run_cell(const TokenizedCell& cell, std::int64_t index, std::int64_t chunk, Workspace& ws) const {
        const auto len = static_cast<std::int64_t>(cell.gene_ids.size());
        if (!o_.want_pad_state) {
            embed(cell, len, ws);
            for (std::int64_t l = 0; l < n_layers_; ++l) layer(w_.layers[l], l, len, len, index, chunk, ws);
            return;
        }
        TokenizedCell with_pad = cell; // the pad token is a query only: keys stay the L real tokens
        with_pad.gene_ids.push_back(o_.pad_id);
        with_pad.values.push_back(o_.pad_value);
        embed(with_pad, len + 1, ws);
        for (std::int64_t l = 0; l < n_layers_; ++l) layer(w_.layers[l], l, len + 1, len, index, chunk, ws);
    }

private:
    void embed(const TokenizedCell& cell, std::int64_t len, Workspace& ws) const {
        const std::int64_t d = d_;
        float* x = ws.x.data();
        float* v1 = ws.hid.data();
        float* v2 = ws.tmp.data();
        for (std::int64_t t = 0; t < len; ++t) {
            layer_norm(w_.gene_embedding.row(cell.gene_ids[t]).data(), nullptr, w_.enc_norm_w.data(),
                       w_.enc_norm_b.data(), d, eps_, x + t * d, ws.row.data());
            const float v = std::min(cell.values[t], o_.value_max); // torch.clamp(x, max=max_value)
            const float* w1 = w_.value_W1.data();
            const float* b1 = w_.value_b1.data();
            float* h = v1 + t * d;
            for (std::int64_t j = 0; j < d; ++j) {
                const float a = v * w1[j] + b1[j];
                h[j] = a > 0.0F ? a : 0.0F;
            }
        }
        fill_rows(v2, len, d, d, w_.value_b2.data());
        gemm(len, d, d, 1.0F, v1, d, w_.value_W2.data(), d, true, 1.0F, v2, d);
        float* vn = ws.row.data();
        for (std::int64_t t = 0; t < len; ++t) {
            layer_norm(v2 + t * d, nullptr, w_.value_norm_w.data(), w_.value_norm_b.data(), d, eps_, vn, vn);
            float* xr = x + t * d;
            for (std::int64_t j = 0; j < d; ++j) xr[j] += vn[j];
        }
    }

    /// One encoder layer on @p len rows of ws.x; only the first @p n_keys rows are keys
    /// and values (the rest are padding queries), and the visitor sees n_keys x n_keys.
    void layer(const ScGptLayerWeights& L, std::int64_t l, std::int64_t len, std::int64_t n_keys, std::int64_t index,
               std::int64_t chunk, Workspace& ws) const {
        const std::int64_t d = d_, d3 = 3 * d_;
        float* x = ws.x.data();
        float* qkv = ws.qkv.data();
        float* probs = ws.probs.data();
        float* attn = ws.attn.data();
        float* tmp = ws.tmp.data();
        float* hid = ws.hid.data();

        // in-projection: [Q | K | V] = x Wqkv^T + b
        fill_rows(qkv, len, d3, d3, L.bqkv.data());
        gemm(len, d3, d, 1.0F, x, d, L.Wqkv.data(), d, true, 1.0F, qkv, d3);
        for (std::int64_t h = 0; h < heads_; ++h) {
            const float* q = qkv + h * dh_;
            const float* k = qkv + d + h * dh_;
            const float* v = qkv + 2 * d + h * dh_;
            gemm(len, n_keys, dh_, scale_, q, d3, k, d3, true, 0.0F, probs, n_keys);
            softmax_rows(probs, len, n_keys, n_keys);
            if (o_.visitor != nullptr) {
                AttentionSlice s;
                s.chunk = chunk;
                s.cell = index;
                s.layer = l;
                s.head = h;
                s.length = n_keys;
                s.probs = probs;
                o_.visitor->visit(s);
            }
            gemm(len, dh_, n_keys, 1.0F, probs, n_keys, v, d3, false, 0.0F, attn + h * dh_, d);
        }
        // out-projection, residual, norm1
        fill_rows(tmp, len, d, d, L.bo.data());
        gemm(len, d, d, 1.0F, attn, d, L.Wo.data(), d, true, 1.0F, tmp, d);
        for (std::int64_t t = 0; t < len; ++t)
            layer_norm(x + t * d, tmp + t * d, L.norm1_w.data(), L.norm1_b.data(), d, eps_, x + t * d, ws.row.data());
        // feed-forward, residual, norm2
        fill_rows(hid, len, d_hid_, d_hid_, L.b1.data());
        gemm(len, d_hid_, d, 1.0F, x, d, L.W1.data(), d, true, 1.0F, hid, d_hid_);
        relu_inplace(hid, len * d_hid_);
        fill_rows(tmp, len, d, d, L.b2.data());
        gemm(len, d, d_hid_, 1.0F, hid, d_hid_, L.W2.data(), d_hid_, true, 1.0F, tmp, d);
        for (std::int64_t t = 0; t < len; ++t)
            layer_norm(x + t * d, tmp + t * d, L.norm2_w.data(), L.norm2_b.data(), d, eps_, x + t * d, ws.row.data());
    }

    const ScGptWeights& w_;
    const ScGptForwardOptions& o_;
    std::int64_t d_, heads_, dh_, d_hid_, n_layers_;
    double eps_;
    float scale_;
};

} // namespace

ScGptForwardResult run_scgpt_forward(const ScGptWeights& weights, const std::vector<TokenizedCell>& cells,
                                     const ScGptForwardOptions& options) {
    check_weights(weights);
    const std::int64_t d = weights.config.d_model;
    const auto n_cells = static_cast<std::int64_t>(cells.size());
    const auto all_layers = static_cast<std::int64_t>(weights.layers.size());
    if (options.batch_size < 1) throw Error(fmt::format("scGPT forward: batch_size is {}, must be >= 1", options.batch_size));
    if (options.n_layers > all_layers)
        throw Error(fmt::format("scGPT forward: {} layers requested but the model has {}", options.n_layers, all_layers));
    if (!(options.layer_norm_eps >= 0.0F)) throw Error("scGPT forward: layer_norm_eps must be >= 0");
    if (options.want_pad_state && (options.pad_id < 0 || options.pad_id >= weights.gene_embedding.rows()))
        throw Error(fmt::format("scGPT forward: pad id {} is outside the vocabulary [0, {})", options.pad_id,
                                weights.gene_embedding.rows()));
    check_cells(cells, weights.gene_embedding.rows(), d);

    ScGptForwardResult result;
    result.n_layers_run = options.n_layers < 0 ? all_layers : options.n_layers;
    if (options.want_hidden) result.hidden.resize(cells.size());
    if (options.want_first) result.first.setZero(n_cells, d);
    if (options.want_mean) result.mean.setZero(n_cells, d);
    if (options.want_pad_state) result.pad_state.setZero(n_cells, d);

    const std::int64_t n_chunks = chunk_count(n_cells, options.batch_size);
    if (options.visitor != nullptr) options.visitor->begin(n_cells, n_chunks);
    if (n_cells == 0) return result;

    const Forward forward(weights, options, result.n_layers_run);
    const SingleThreadedBlas blas_guard;
    parallel_for(n_cells, options.batch_size, options.threads, [&](std::int64_t chunk, std::int64_t begin, std::int64_t end) {
        std::int64_t max_len = 0;
        for (std::int64_t i = begin; i < end; ++i) max_len = std::max<std::int64_t>(max_len, cells[i].gene_ids.size());
        Workspace ws(max_len + (options.want_pad_state ? 1 : 0), d, weights.config.d_hid);
        for (std::int64_t i = begin; i < end; ++i) {
            const auto len = static_cast<std::int64_t>(cells[i].gene_ids.size());
            forward.run_cell(cells[i], i, chunk, ws);
            const Eigen::Map<const RowMatrixF> x(ws.x.data(), len, d);
            if (options.want_hidden) result.hidden[i] = x;
            if (options.want_first) result.first.row(i) = x.row(0);
            if (options.want_pad_state) result.pad_state.row(i) = Eigen::Map<const Eigen::RowVectorXf>(ws.x.data() + len * d, d);
            if (options.want_mean) {
                // token order, in double: independent of how the cells were batched
                Eigen::VectorXd sum = Eigen::VectorXd::Zero(d);
                for (std::int64_t t = 0; t < len; ++t) sum += x.row(t).transpose().cast<double>();
                result.mean.row(i) = (sum / static_cast<double>(len)).cast<float>().transpose();
            }
        }
    });
    return result;
}

} // namespace scx
