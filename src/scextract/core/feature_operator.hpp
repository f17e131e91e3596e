#pragma once
/// @file feature_operator.hpp
/// @brief The compressed operator an extracted algorithm carries: a linear map from a
/// cell's panel expression x (1 x G) to its features, the concatenation of blocks x M_b.
///
/// A block's G x G matrix M is stored in whichever form the compression chose: dense,
/// low rank (M = L R, L: G x r, R: r x G), or sparse factors (M = sum_f s_f r_f w_f^T with
/// r_f and w_f non-zero on a few genes only). Orientation (x A or x A^T) is decided when
/// the blocks are built, so applying never needs to know it.

#include "scextract/core/dense.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// One rank-one term of a sparse-factor block: (x . read) * write, scaled.
struct SparseFactor {
    std::vector<std::int32_t> read_genes;  ///< panel positions with non-zero read loadings
    std::vector<float> read_weights;
    std::vector<std::int32_t> write_genes; ///< panel positions with non-zero write loadings
    std::vector<float> write_weights;
    float scale = 1.0F;                    ///< the singular value
};

/// One G -> G linear map.
struct FeatureBlock {
    enum class Form { dense, low_rank, sparse_factors };
    std::string name;          ///< e.g. "early-mid", "L2H5", "L2H5 rank 64"
    Form form = Form::dense;
    RowMatrixF dense;          ///< G x G when dense
    RowMatrixF left, right;    ///< G x r and r x G when low rank
    std::vector<SparseFactor> factors;

    /// Stored numbers (floats, plus int32 gene positions for sparse factors).
    [[nodiscard]] std::int64_t stored_values() const;
    /// Size on disk in MB (10^6 bytes), 4 bytes per stored value.
    [[nodiscard]] double size_mb() const { return 4.0 * static_cast<double>(stored_values()) / 1e6; }
};

/// The panel-to-features map: features = [x M_0, x M_1, ...].
struct FeatureOperator {
    std::vector<std::string> genes; ///< the panel, in operator order
    std::vector<FeatureBlock> blocks;
    std::string orientation = "xA"; ///< "xA" or "xAT": how the blocks were made from the operators
    std::string description;        ///< how it was compressed (for provenance)

    [[nodiscard]] std::int64_t n_genes() const { return static_cast<std::int64_t>(genes.size()); }
    [[nodiscard]] std::int64_t n_features() const { return n_genes() * static_cast<std::int64_t>(blocks.size()); }
    /// Stored numbers of all blocks (FeatureBlock::stored_values()).
    [[nodiscard]] std::int64_t stored_values() const;
    /// Size on disk in MB (10^6 bytes): the blocks' sizes summed.
    [[nodiscard]] double size_mb() const;
    /// Features of each row of @p x (cells x G): cells x n_features(). Row-parallel over
    /// @p threads; each row's arithmetic is fixed, so the result does not depend on them.
    [[nodiscard]] RowMatrixF apply(const RowMatrixF& x, int threads = 1) const;
};

} // namespace scx
