#pragma once
/// @file embed.hpp
/// @brief Cell embeddings from a frozen scGPT checkpoint: align genes to the
/// vocabulary, tokenize, run the encoder, pool.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/model/tokenizer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// How a cell becomes tokens.
enum class EmbedTokenizer {
    official, ///< scGPT's embed_data convention: <cls> + expressed genes, per-cell binned counts
    atlas,    ///< METHOD.md's atlas convention: log1p(normalize_total) values, sorted, no <cls>
};

/// How token states become one vector per cell.
enum class EmbedPooling {
    mean,       ///< mean over the cell's real tokens
    cls,        ///< the <cls> state (official tokenizer only)
    scgpt_avg,  ///< compatibility: scGPT's cell_emb_style "avg-pool", see scgpt_avg_pool()
};

/// What a padded batch holds at padded positions, which scGPT's avg-pool averages in.
enum class PaddedStates {
    zero,     ///< zeros: torch's nested-tensor fast path (nn.TransformerEncoder in eval under no_grad)
    computed, ///< padding tokens attending to the real tokens: the standard (grad-enabled) path
};

/// scGPT's avg-pool: torch.mean over every position of a padded batch, <cls> and padding
/// included. Cells are batched as scGPT's DataLoader does, @p batch_size consecutive cells
/// per batch, each padded to the batch's longest cell L_max:
///   avg_i = (len_i * mean_i + (L_max - len_i) * pad_i) / L_max
/// where pad_i is the padding state (@p pad_state row i, or 0 when @p pad_state is null).
/// The result therefore depends on which cells share a batch, as scGPT's does.
RowMatrixF scgpt_avg_pool(const RowMatrixF& mean, const std::vector<std::int64_t>& lengths, const RowMatrixF* pad_state,
                          std::int64_t batch_size);

struct EmbedOptions {
    EmbedTokenizer tokenizer = EmbedTokenizer::official;
    EmbedPooling pooling = EmbedPooling::mean;
    bool l2_normalize = false; ///< L2-normalise each embedding, as scGPT's embed_data does for <cls>
    std::int64_t pool_batch_size = 64;           ///< scgpt_avg: cells per padded batch (scGPT's eval default)
    PaddedStates padded_states = PaddedStates::zero; ///< scgpt_avg: what padded positions hold
    double target_sum = 1e4;   ///< atlas tokenizer: normalize_total target (over all genes)
    std::int64_t max_tokens = 1200;
    std::uint64_t seed = 42;   ///< official tokenizer: tie spreading and subsampling
    std::int64_t batch_size = 8;
    int threads = 0;
};

struct EmbedResult {
    RowMatrixF embedding;                 ///< [cells, d]; NaN rows for cells with no token
    std::int64_t genes_in_vocab = 0;      ///< input genes found in the vocabulary
    std::vector<std::string> genes_not_in_vocab;
    std::int64_t empty_cells = 0;         ///< cells with no expressed vocabulary gene
    std::int64_t total_tokens = 0;
};

/// Embeds every row of @p counts (raw counts, cells x genes; @p symbols name the
/// columns). Throws UsageError for cls pooling with the atlas tokenizer (it has no
/// <cls>), and Error when no gene is in the vocabulary.
EmbedResult embed_cells(const ScGptCheckpoint& checkpoint, const CsrMatrix& counts, const std::vector<std::string>& symbols,
                        const EmbedOptions& options);

} // namespace scx
