#pragma once
/// @file row_block_reader.hpp
/// @brief Streaming access to a cells x genes matrix, a block of rows at a time.
///
/// Algorithms that can stream take a RowBlockReader instead of a whole matrix,
/// so data larger than memory passes through in bounded memory.

#include "scextract/core/csr_matrix.hpp"

#include <cstdint>

namespace scx {

/// A source of row blocks. Implementations: in-memory CSR, h5ad X / layers / raw.X.
class RowBlockReader {
public:
    virtual ~RowBlockReader() = default;
    [[nodiscard]] virtual std::int64_t n_rows() const = 0;
    [[nodiscard]] virtual std::int64_t n_cols() const = 0;
    /// Rows [begin, end) as CSR with float32 values (converted from the stored dtype).
    virtual CsrMatrix read_rows(std::int64_t begin, std::int64_t end) = 0;
    /// The same rows into @p out, whose buffers a reader may reuse: a loop that passes the
    /// same matrix back allocates (and the kernel zeroes) its memory once, not per block.
    virtual void read_rows_into(std::int64_t begin, std::int64_t end, CsrMatrix& out) { out = read_rows(begin, end); }
};

/// RowBlockReader over a matrix already in memory (no copy of the matrix is kept).
class InMemoryRowReader final : public RowBlockReader {
public:
    explicit InMemoryRowReader(const CsrMatrix& m) : m_(m) {}
    [[nodiscard]] std::int64_t n_rows() const override { return m_.n_rows; }
    [[nodiscard]] std::int64_t n_cols() const override { return m_.n_cols; }
    CsrMatrix read_rows(std::int64_t begin, std::int64_t end) override { return slice_rows(m_, begin, end); }

private:
    const CsrMatrix& m_;
};

} // namespace scx
