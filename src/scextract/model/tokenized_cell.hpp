#pragma once
/// @file tokenized_cell.hpp
/// @brief One cell as scGPT's encoder sees it: gene token ids with their values.

#include <cstdint>
#include <vector>

namespace scx {

/// A cell's tokens, in model order (position 0 first). Both vectors have the same
/// length; no padding: a batch is padded (and the padding masked) by the forward pass.
struct TokenizedCell {
    std::vector<std::int64_t> gene_ids; ///< vocabulary ids, each in [0, vocab size)
    std::vector<float> values;          ///< the continuous value of each token (e.g. log1p expression)
};

} // namespace scx
