#pragma once
/// @file tokenizer.hpp
/// @brief The two ways scextract turns a cell's panel expression into scGPT tokens:
/// the attention-atlas convention (METHOD.md, stage 1) and scGPT's own embedding
/// convention (the embedding baseline).

#include "scextract/core/csr_matrix.hpp"
#include "scextract/model/tokenized_cell.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace scx {

/// Options of tokenize_atlas().
struct AtlasTokenizerOptions {
    /// At most this many tokens per cell; the genes with the highest values are kept.
    std::int64_t max_tokens = 1200;
    int threads = 0; ///< matrix form only; <= 0: all cores; results do not depend on it
};

/// Options of tokenize_official(); defaults are scGPT's whole-human args.json.
struct OfficialTokenizerOptions {
    std::int64_t n_bins = 51;        ///< bins 1..n_bins-1 for expressed genes (0 is "not expressed")
    std::int64_t max_seq_len = 1200; ///< tokens per cell, <cls> included
    float pad_value = -2.0f;         ///< the value given to <cls>
    std::int64_t cls_id = 60695;     ///< vocabulary id of <cls> (whole-human vocab.json)
    std::uint64_t seed = 42;         ///< seeds every random step (see tokenize_official())
    /// scGPT's `_digitize(side="both")`: a value equal to several bin edges (ties) gets a
    /// uniformly random bin among them. false: numpy's `digitize` alone (side="one").
    bool spread_ties = true;
    int threads = 0; ///< matrix form only; <= 0: all cores; results do not depend on it
};

/// Tokenises one cell for the attention atlas: the panel genes with value > 0, sorted by
/// value descending (equal values by panel position ascending), no <cls>, values passed
/// through unchanged (the caller passes log1p-normalised expression), truncated to the
/// options.max_tokens highest.
/// @param columns   panel column of each stored entry (any order)
/// @param values    the entry values, same length as @p columns
/// @param vocab_ids vocabulary id of each panel column
/// Throws scx::Error on a column outside @p vocab_ids, a negative vocabulary id, or a
/// negative or non-finite value.
TokenizedCell tokenize_atlas(std::span<const std::int32_t> columns, std::span<const float> values,
                             std::span<const std::int64_t> vocab_ids, const AtlasTokenizerOptions& options = {});

/// tokenize_atlas() for every row of @p cells (columns = panel), in row order.
std::vector<TokenizedCell> tokenize_atlas(const CsrMatrix& cells, std::span<const std::int64_t> vocab_ids,
                                          const AtlasTokenizerOptions& options = {});

/// Tokenises one cell as scGPT's embedding pipeline does (DataCollator with binning and
/// sampling after `<cls>` insertion): `<cls>` first with value pad_value, then the
/// expressed genes (value > 0) in panel order, each with its per-cell quantile bin:
/// edges = numpy.quantile(expressed values, numpy.linspace(0, 1, n_bins - 1)) (linear
/// method, edges in float64 as numpy 2 gives them), bin = numpy.digitize(value, edges),
/// so in 1..n_bins-1. When more than max_seq_len - 1 genes are expressed, max_seq_len - 1
/// of them are drawn without replacement and kept in panel order (scGPT keeps the draw's
/// order; the model has no positional encoding, so only summation order differs).
///
/// Randomness: scGPT draws from unseeded global generators (numpy for ties between bin
/// edges, torch.randperm for the subsample), so bit-exact parity is impossible in those
/// two steps. Here both draw from one std::mt19937_64 per cell, seeded by
/// std::seed_seq{seed, cell_index} (32-bit halves), so results are reproducible and
/// independent of threads. On tie-free values (each value equal to at most one bin edge)
/// the bins are deterministic and equal scGPT's.
/// @param cell_index the cell's row in its matrix (only seeds the generator)
/// Throws scx::Error as tokenize_atlas() does, and on n_bins < 2 or max_seq_len < 1.
TokenizedCell tokenize_official(std::span<const std::int32_t> columns, std::span<const float> values,
                                std::span<const std::int64_t> vocab_ids, const OfficialTokenizerOptions& options = {},
                                std::uint64_t cell_index = 0);

/// tokenize_official() for every row of @p cells, row r seeded with cell_index = r.
std::vector<TokenizedCell> tokenize_official(const CsrMatrix& cells, std::span<const std::int64_t> vocab_ids,
                                             const OfficialTokenizerOptions& options = {});

/// scGPT's per-cell bins of @p expressed (all > 0, in any order), as described at
/// tokenize_official(), drawing from the same generator
/// tokenize_official() uses for cell @p cell_index (binning is its first random step).
std::vector<std::int64_t> quantile_bins(std::span<const float> expressed, const OfficialTokenizerOptions& options,
                                        std::uint64_t cell_index = 0);

} // namespace scx
