#pragma once
/// @file atlas.hpp
/// @brief The attention atlas (METHOD.md, stage 1, the authors' default): per-head gene x
/// gene operators averaged from the frozen model's attention on a sample of reference cells.
///
/// For each sampled cell: tokens = the panel genes with value > 0, sorted by value
/// descending (ties by panel position), no `<cls>`, the continuous log1p-normalised values,
/// at most max_tokens (model/tokenizer.hpp, tokenize_atlas()). The forward pass hands every
/// (layer, head) attention map to a visitor, which adds p(query token of gene i -> key token
/// of gene j) into S(l, h)[i, j]; the co-occurrence C[i, j] counts the cells in which genes
/// i and j are both tokens (the same for every head). Finally A = S / max(C, 1), so a pair
/// never seen together is 0. No per-cell map is stored.
///
/// Determinism: each probability is added as the integer round(p * 2^32) to a 64-bit
/// accumulator. Integer addition is associative, so the sums, and A, are exactly the same
/// whatever the order in which cells arrive: bit-identical for any thread count and batch
/// size, with no ordering between threads. Threads share one accumulator per head and add
/// with relaxed atomic fetch_add (plain adds with one thread). The rounding costs at most
/// 2^-33 per probability, so A is within 1.2e-10 of the exact mean (far below float32's
/// resolution). Memory: 8 bytes x L x H x G^2 (1.1 GB for whole-human scGPT and G = 1,200),
/// plus the float32 result; each head's accumulator is freed once converted.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/operator_set.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/model/scgpt_weights.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace scx {

/// Options of run_attention_atlas(); defaults are METHOD.md's.
struct AtlasOptions {
    /// Cells sampled from the reference (all of them when it has fewer).
    std::int64_t n_cells = 600;
    /// Seeds the sample: a partial Fisher-Yates shuffle driven by scx::Rng(seed).
    std::uint64_t seed = 42;
    /// Tokens per cell at most (the highest values are kept).
    std::int64_t max_tokens = 1200;
    /// Worker threads (<= 0: all cores). The result does not depend on it.
    int threads = 0;
    /// Cells per forward-pass work chunk. The result does not depend on it.
    std::int64_t batch_size = 4;
    /// Called with (cells finished, cells to run); may be empty.
    ProgressCallback progress{};
    /// The forward pass's value clamp and LayerNorm epsilon (scGPT's).
    float value_max = 512.0F;
    float layer_norm_eps = 1e-5F;
};

/// What run_attention_atlas() returns.
struct AtlasResult {
    /// ops (layer * n_heads + head, G x G), vocab_ids, n_layers, n_heads, cooccurrence and
    /// the provenance the atlas knows (mode "atlas", cells, seed, tokenizer, max_tokens,
    /// bias handling, exactness). Gene symbols and checkpoint / reference / panel
    /// provenance are the caller's to fill.
    OperatorSet operators;
    std::vector<std::int64_t> cells;   ///< the sampled reference rows, ascending
    std::int64_t cells_available = 0;  ///< rows with at least one expressed panel gene (the sampling frame)
    std::int64_t total_tokens = 0;     ///< tokens over the sampled cells
    std::int64_t max_cell_tokens = 0;  ///< the longest sampled cell
};

/// Runs the attention atlas. @p panel_values is cells x G: log1p(normalize_total(counts))
/// computed over all genes and then restricted to the panel (PrepareResult's
/// panel_log_normalized); @p panel_vocab_ids gives each panel column's vocabulary id.
/// Cells without an expressed panel gene cannot be tokenised and are left out of the
/// sampling frame. Throws scx::Error on sizes that disagree, a vocabulary id outside the
/// model, no cell to run, or bad options.
AtlasResult run_attention_atlas(const ScGptWeights& weights, const CsrMatrix& panel_values,
                                std::span<const std::int64_t> panel_vocab_ids, const AtlasOptions& options = {});

} // namespace scx
