#pragma once
/// @file csr_matrix.hpp
/// @brief The one sparse matrix type of scextract: compressed sparse rows, cells x genes.

#include <cstdint>
#include <optional>
#include <utility>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// Compressed sparse row matrix with float32 values, int32 column indices and
/// 64-bit row pointers (so nnz may exceed 2^31). Rows are cells, columns genes.
struct CsrMatrix {
    std::int64_t n_rows = 0;
    std::int64_t n_cols = 0;
    std::vector<float> values;
    std::vector<std::int32_t> indices;
    std::vector<std::int64_t> indptr{0}; ///< size n_rows + 1, indptr[0] == 0

    [[nodiscard]] std::int64_t nnz() const { return static_cast<std::int64_t>(values.size()); }

    /// Values of row @p r.
    [[nodiscard]] std::span<const float> row_values(std::int64_t r) const {
        return {values.data() + indptr[r], static_cast<std::size_t>(indptr[r + 1] - indptr[r])};
    }
    /// Column indices of row @p r.
    [[nodiscard]] std::span<const std::int32_t> row_indices(std::int64_t r) const {
        return {indices.data() + indptr[r], static_cast<std::size_t>(indptr[r + 1] - indptr[r])};
    }

    /// Throws scx::Error (prefixed with @p what) unless indptr is monotone, sized
    /// n_rows + 1 and ends at nnz, and every index lies in [0, n_cols).
    void validate(const std::string& what) const;
};

/// Sorts the column indices within each row (values follow; rows already in
/// order, the usual case, are left alone). Returns the first (row, column) that
/// appears twice, or std::nullopt.
std::optional<std::pair<std::int64_t, std::int32_t>> sort_row_indices(CsrMatrix& m);

/// Rows [begin, end) as a new matrix.
CsrMatrix slice_rows(const CsrMatrix& m, std::int64_t begin, std::int64_t end);

/// Rows @p rows (any order, repeats allowed) as a new matrix. Throws scx::Error when one
/// lies outside the matrix.
CsrMatrix select_rows(const CsrMatrix& m, std::span<const std::int64_t> rows);

/// Keeps the listed columns, in the listed order (column j of the result is
/// column cols[j] of @p m). Entries within a row stay sorted by new column index.
CsrMatrix select_columns(const CsrMatrix& m, std::span<const std::int64_t> cols);

/// Stacks row blocks with equal column counts.
CsrMatrix vstack(std::span<const CsrMatrix> blocks);

/// Transposes a CSR matrix (equivalently: reinterprets CSC arrays as CSR of the transpose).
CsrMatrix transpose(const CsrMatrix& m);

/// Builds CSR from a dense row-major buffer, dropping exact zeros.
CsrMatrix csr_from_dense(std::span<const float> dense, std::int64_t n_rows, std::int64_t n_cols);

/// Dense row-major copy (n_rows * n_cols floats).
std::vector<float> to_dense(const CsrMatrix& m);

} // namespace scx
