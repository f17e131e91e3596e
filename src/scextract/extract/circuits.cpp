#include "scextract/extract/circuits.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <atomic>
#include <cmath>
#include <mutex>

#include <fmt/format.h>

namespace scx {

const char* circuit_kind_name(CircuitKind k) { return k == CircuitKind::qk ? "qk" : "ov"; }

std::string circuit_bias_note(CircuitKind k) {
    if (k == CircuitKind::qk)
        return "qk: query and key biases included as the model applies them (the key bias shifts each row by a "
               "constant and cancels in the softmax); no value or output bias is involved";
    return "ov: value and output biases left out: attention rows sum to 1, so the value bias reaches the output as "
           "bv Wo_h^T whatever the attention, and out_proj.bias is shared by all heads; neither is a gene-to-gene term";
}

std::string circuit_exactness_note() {
    return "weights only: computed on LayerNorm_enc(gene embeddings) without the value encoding, the residual stream "
           "or earlier layers; exact only for layer 0 (up to the value encoding), an approximation for layers >= 1";
}

RowMatrixD circuit_gene_states(const ScGptWeights& weights, std::span<const std::int64_t> vocab_ids, double eps) {
    const std::int64_t d = weights.gene_embedding.cols(), vocab = weights.gene_embedding.rows();
    if (weights.enc_norm_w.size() != d || weights.enc_norm_b.size() != d)
        throw Error(fmt::format("circuits: encoder.enc_norm has {} entries, expected {}", weights.enc_norm_w.size(), d));
    const auto g = static_cast<std::int64_t>(vocab_ids.size());
    RowMatrixD e(g, d);
    for (std::int64_t i = 0; i < g; ++i) {
        const std::int64_t id = vocab_ids[static_cast<std::size_t>(i)];
        if (id < 0 || id >= vocab)
            throw Error(fmt::format("circuits: panel gene {} has vocabulary id {}, outside the model's [0, {})", i, id, vocab));
        const Eigen::RowVectorXd x = weights.gene_embedding.row(id).cast<double>();
        const double mean = x.mean();
        const double var = (x.array() - mean).square().mean();
        const double rstd = 1.0 / std::sqrt(var + eps);
        e.row(i) = ((x.array() - mean) * rstd * weights.enc_norm_w.cast<double>().transpose().array() +
                    weights.enc_norm_b.cast<double>().transpose().array())
                       .matrix();
    }
    return e;
}

OperatorSet run_circuits(const ScGptWeights& weights, std::span<const std::int64_t> vocab_ids, const CircuitOptions& options) {
    const auto& c = weights.config;
    const std::int64_t d = c.d_model, n_heads = c.n_heads, n_layers = c.n_layers;
    if (d <= 0 || n_heads <= 0 || d % n_heads != 0)
        throw Error(fmt::format("circuits: d_model {} is not a multiple of n_heads {}", d, n_heads));
    if (static_cast<std::int64_t>(weights.layers.size()) != n_layers)
        throw Error(fmt::format("circuits: {} layers but the config says {}", weights.layers.size(), n_layers));
    if (vocab_ids.empty()) throw Error("circuits: the gene panel is empty");
    if (weights.gene_embedding.cols() != d)
        throw Error(fmt::format("circuits: the gene embedding has {} columns, expected {}", weights.gene_embedding.cols(), d));
    for (std::int64_t l = 0; l < n_layers; ++l) {
        const auto& L = weights.layers[static_cast<std::size_t>(l)];
        if (L.Wqkv.rows() != 3 * d || L.Wqkv.cols() != d || L.bqkv.size() != 3 * d || L.Wo.rows() != d || L.Wo.cols() != d)
            throw Error(fmt::format("circuits: layer {} attention weights do not match d_model {}", l, d));
    }
    const std::int64_t dh = d / n_heads;
    const RowMatrixD e = circuit_gene_states(weights, vocab_ids, options.layer_norm_eps);
    const auto g = e.rows();
    const double scale = 1.0 / std::sqrt(static_cast<double>(dh));

    OperatorSet set;
    set.vocab_ids.assign(vocab_ids.begin(), vocab_ids.end());
    set.n_layers = n_layers;
    set.n_heads = n_heads;
    set.ops.resize(static_cast<std::size_t>(n_layers * n_heads));
    std::atomic<std::int64_t> done{0};
    std::mutex progress_mutex;
    // One head per work item; lazyProduct keeps Eigen away from its (thread-count
    // dependent) blocked GEMM, so every coefficient is the same dot product whatever the threads.
    parallel_for(n_layers * n_heads, 1, options.threads, [&](std::int64_t k, std::int64_t, std::int64_t) {
        const std::int64_t l = k / n_heads, h = k % n_heads;
        const auto& L = weights.layers[static_cast<std::size_t>(l)];
        RowMatrixD out(g, g);
        if (options.kind == CircuitKind::qk) {
            const RowMatrixD wq = L.Wqkv.middleRows(h * dh, dh).cast<double>();
            const RowMatrixD wk = L.Wqkv.middleRows(d + h * dh, dh).cast<double>();
            const Eigen::RowVectorXd bq = L.bqkv.segment(h * dh, dh).cast<double>().transpose();
            const Eigen::RowVectorXd bk = L.bqkv.segment(d + h * dh, dh).cast<double>().transpose();
            RowMatrixD q = e.lazyProduct(wq.transpose());
            q.rowwise() += bq;
            RowMatrixD kk = e.lazyProduct(wk.transpose());
            kk.rowwise() += bk;
            out = q.lazyProduct(kk.transpose());
            for (Eigen::Index i = 0; i < g; ++i) {
                auto row = out.row(i);
                row *= scale;
                const double mx = row.maxCoeff();
                row = (row.array() - mx).exp().matrix();
                row /= row.sum();
            }
        } else {
            const RowMatrixD wv = L.Wqkv.middleRows(2 * d + h * dh, dh).cast<double>(); // dh x d
            const RowMatrixD wo = L.Wo.middleCols(h * dh, dh).cast<double>();           // d x dh
            const RowMatrixD m = e.lazyProduct(wv.transpose());                         // G x dh
            const RowMatrixD nn = e.lazyProduct(wo);                                    // G x dh = (Wo_h^T E^T)^T
            out = m.lazyProduct(nn.transpose());
        }
        set.ops[static_cast<std::size_t>(k)] = out.cast<float>();
        if (options.progress) {
            const std::int64_t n = done.fetch_add(1) + 1;
            const std::lock_guard lock(progress_mutex);
            options.progress(n, n_layers * n_heads);
        }
    });

    auto& p = set.provenance;
    p.mode = circuit_kind_name(options.kind);
    p.bias_handling = circuit_bias_note(options.kind);
    p.exactness = circuit_exactness_note();
    return set;
}

} // namespace scx
