#pragma once
/// @file scgpt_forward.hpp
/// @brief scGPT's encoder forward pass (inference) on fp32 weights: cell embeddings,
/// hidden states and per-head attention probabilities.
///
/// Per cell of L tokens (whole-human scGPT, dropout off):
///   g  = LayerNorm_enc(E[id])
///   v  = LayerNorm_val(W2 relu(W1 min(value, value_max) + b1) + b2)
///   h0 = g + v
///   h  = norm1(h + SelfAttention(h)); h = norm2(h + W2 relu(W1 h + b1) + b2)   (each layer,
///        torch.nn.TransformerEncoderLayer with norm_first=False, ReLU, eps 1e-5)
/// Each cell is computed at its own length. That is exactly what a padded batch
/// with a key padding mask computes for the real tokens (masked keys get zero
/// probability, padded query rows are discarded), without the work on padding;
/// so a cell's results do not depend on which cells share its batch.

#include "scextract/core/dense.hpp"
#include "scextract/model/scgpt_weights.hpp"
#include "scextract/model/tokenized_cell.hpp"

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace scx {

/// One head's attention map for one cell in one layer, as the visitor sees it.
struct AttentionSlice {
    std::int64_t chunk = 0;  ///< work chunk the cell belongs to: cell / batch_size
    std::int64_t cell = 0;   ///< index into the input cells
    std::int64_t layer = 0;  ///< 0-based
    std::int64_t head = 0;   ///< 0-based
    std::int64_t length = 0; ///< the cell's number of tokens L
    /// L x L row-major softmax probabilities: probs[i * L + j] is how much query
    /// token i attends to key token j (each row sums to 1). Valid only during visit().
    const float* probs = nullptr;
};

/// Receives every (cell, layer, head) attention map, so callers can accumulate
/// statistics over many cells without storing the maps.
///
/// Threading contract: visit() is called concurrently for cells of different
/// chunks. All calls for one chunk come from one thread, in order of cell, then
/// layer, then head, and chunks are started in increasing order. A visitor that
/// keeps one accumulator per chunk and combines them in chunk order therefore
/// needs no locks and gives the same bits for any thread count. (Where one
/// accumulator per chunk is too large, use batch_size 1 and apply each cell's
/// maps in cell order, e.g. layer by layer behind a per-layer ticket.)
class AttentionVisitor {
public:
    virtual ~AttentionVisitor() = default;
    /// Called once on the calling thread before any visit(): the number of cells
    /// and of chunks (chunk c holds cells [c * batch_size, min(n_cells, (c+1) * batch_size))).
    virtual void begin(std::int64_t n_cells, std::int64_t n_chunks) {
        (void)n_cells;
        (void)n_chunks;
    }
    /// One attention map; see AttentionSlice.
    virtual void visit(const AttentionSlice& slice) = 0;
};

/// An AttentionVisitor that forwards each slice to a function (which must be
/// safe to call concurrently for different chunks).
class AttentionCallback final : public AttentionVisitor {
public:
    explicit AttentionCallback(std::function<void(const AttentionSlice&)> fn) : fn_(std::move(fn)) {}
    void visit(const AttentionSlice& slice) override { fn_(slice); }

private:
    std::function<void(const AttentionSlice&)> fn_;
};

/// What run_scgpt_forward() computes and how.
struct ScGptForwardOptions {
    /// Worker threads (<= 0: all cores). Results are bit-identical for any value.
    int threads = 1;
    /// Cells per work chunk (the unit handed to a thread). Results do not depend on it.
    std::int64_t batch_size = 8;
    /// Keep every cell's final hidden states ([L, d] per cell).
    bool want_hidden = false;
    /// Keep the position-0 state of each cell (the `<cls>` embedding when the cell starts with `<cls>`).
    bool want_first = false;
    /// Keep the mean of each cell's final states over its tokens (scGPT's mean pooling).
    bool want_mean = true;
    /// Receives every attention map when not null (see AttentionVisitor); nothing is kept otherwise.
    AttentionVisitor* visitor = nullptr;
    /// Run only the first n layers (-1: all); the outputs are then that layer's states.
    std::int64_t n_layers = -1;
    /// Values are clamped from above at this (scGPT's ContinuousValueEncoder max_value; no lower clamp).
    float value_max = 512.0F;
    /// LayerNorm epsilon of every norm (scGPT / torch default).
    float layer_norm_eps = 1e-5F;
    /// Also compute, per cell, the final state of one padding token (gene id pad_id,
    /// value pad_value) that attends to the cell's real tokens but is never attended to:
    /// what a padded batch run without nested tensors holds at every padded position
    /// (all padded positions of a cell are equal). Real tokens are not affected.
    bool want_pad_state = false;
    std::int64_t pad_id = -1; ///< the vocabulary's <pad> id (needed with want_pad_state)
    float pad_value = -2.0F;  ///< scGPT's pad_value
};

/// The requested outputs, rows in input cell order.
struct ScGptForwardResult {
    std::vector<RowMatrixF> hidden; ///< [L_i, d] per cell when want_hidden, else empty
    RowMatrixF first;               ///< [n_cells, d] when want_first, else 0 x 0
    RowMatrixF mean;                ///< [n_cells, d] when want_mean, else 0 x 0
    RowMatrixF pad_state;           ///< [n_cells, d] when want_pad_state, else 0 x 0
    std::int64_t n_layers_run = 0;  ///< layers applied
};

/// Runs scGPT's encoder on @p cells. Throws scx::Error when the weights'
/// shapes disagree with their config, a cell is empty, its ids and values differ
/// in length, an id lies outside the vocabulary, or a value is NaN or -inf.
///
/// While it runs OpenBLAS is set to one thread (restored afterwards): the
/// parallelism is over chunks of cells, and single-threaded BLAS keeps the bits
/// independent of the thread count.
ScGptForwardResult run_scgpt_forward(const ScGptWeights& weights, const std::vector<TokenizedCell>& cells,
                                     const ScGptForwardOptions& options);

} // namespace scx
