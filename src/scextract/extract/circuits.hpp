#pragma once
/// @file circuits.hpp
/// @brief Weights-only per-head operators (METHOD.md, stage 1): the QK and OV circuits of
/// every attention head, evaluated on the panel's gene embeddings, with no cells and no
/// forward pass.
///
/// E = LayerNorm_enc(encoder.embedding rows of the panel), G x d. For layer l, head h,
/// dh = d / n_heads, with Wq_h, Wk_h, Wv_h the head's dh rows of the Q, K and V blocks
/// of self_attn.Wqkv (biases likewise) and Wo_h = out_proj.weight[:, h*dh:(h+1)*dh]:
///   QK(l, h) = softmax_rows((E Wq_h^T + bq_h)(E Wk_h^T + bk_h)^T / sqrt(dh))
///   OV(l, h) = E Wv_h^T Wo_h^T E^T
/// QK[i, j] is the attention query gene i would pay key gene j if all G genes were
/// present; OV[i, j] is what attending to gene i writes along gene j's embedding.
///
/// Biases: QK includes bq and bk as the model applies them (bk only shifts each query's
/// logits by a constant and cancels in the softmax; bq does not). OV leaves out the value
/// and output biases: since attention rows sum to 1, bv reaches the output as bv Wo_h^T
/// whatever the attention pattern, and out_proj.bias is shared by all heads, so neither
/// is a gene-to-gene term; both only add the same vector to every query's output.
///
/// Exactness: the circuits see the gene embeddings alone, not the value encoding, the
/// residual stream or earlier layers, so they describe layer 0 (up to the value encoding)
/// and are approximations for every deeper layer. Operator files record this.
///
/// Computed in double (LayerNorm statistics, products, softmax) and rounded to float32;
/// each head is a fixed sequence of single-threaded coefficient-wise products, so results
/// are bit-identical for any thread count.

#include "scextract/core/dense.hpp"
#include "scextract/core/operator_set.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/model/scgpt_weights.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace scx {

/// Which circuit to compute.
enum class CircuitKind {
    qk, ///< softmax-normalised query-key circuit
    ov, ///< output-value circuit (no biases)
};

/// "qk" or "ov".
const char* circuit_kind_name(CircuitKind k);

/// Options of run_circuits().
struct CircuitOptions {
    CircuitKind kind = CircuitKind::qk;
    double layer_norm_eps = 1e-5; ///< enc_norm's epsilon (scGPT's)
    int threads = 0;              ///< <= 0: all cores; results do not depend on it
    ProgressCallback progress{};  ///< (heads done, heads); may be empty
};

/// The bias-handling and exactness notes that run_circuits() records in the provenance.
std::string circuit_bias_note(CircuitKind k);
std::string circuit_exactness_note();

/// E = LayerNorm_enc(embedding rows @p vocab_ids) in double, G x d (statistics as torch:
/// biased variance, @p eps inside the square root). Throws scx::Error for an id outside the vocabulary.
RowMatrixD circuit_gene_states(const ScGptWeights& weights, std::span<const std::int64_t> vocab_ids, double eps = 1e-5);

/// The circuit of every (layer, head) over the panel @p vocab_ids: an OperatorSet with
/// ops, vocab_ids, n_layers, n_heads and provenance mode / bias_handling / exactness
/// filled (gene symbols and checkpoint / reference / panel provenance are the caller's).
OperatorSet run_circuits(const ScGptWeights& weights, std::span<const std::int64_t> vocab_ids,
                         const CircuitOptions& options = {});

} // namespace scx
