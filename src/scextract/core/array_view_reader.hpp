#pragma once
/// @file array_view_reader.hpp
/// @brief Row-block readers over matrices that live in someone else's memory (a scipy CSR
/// matrix's three arrays, a numpy array): the caller keeps the arrays, the reader copies
/// one block of rows at a time into scextract's CsrMatrix, so no copy of the whole matrix is
/// ever made. The Python package uses them to apply an algorithm to AnnData.X in place.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/row_block_reader.hpp"

#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace scx {

/// What both borrowed readers share: the shape, the name used in errors, the row-range check.
class BorrowedRowReader : public RowBlockReader {
public:
    [[nodiscard]] std::int64_t n_rows() const final { return n_rows_; }
    [[nodiscard]] std::int64_t n_cols() const final { return n_cols_; }
    CsrMatrix read_rows(std::int64_t begin, std::int64_t end) final {
        CsrMatrix out;
        read_rows_into(begin, end, out);
        return out;
    }

protected:
    BorrowedRowReader(std::int64_t n_rows, std::int64_t n_cols, std::string what)
        : n_rows_(n_rows), n_cols_(n_cols), what_(std::move(what)) {
        if (n_rows < 0 || n_cols < 0 || n_cols > INT32_MAX)
            throw Error(fmt::format("{}: a {} x {} matrix is not a cells x genes matrix scextract can read", what_, n_rows, n_cols));
    }
    void check_range(std::int64_t begin, std::int64_t end) const {
        if (begin < 0 || end < begin || end > n_rows_)
            throw Error(fmt::format("{}: rows [{}, {}) outside 0..{}", what_, begin, end, n_rows_));
    }
    std::int64_t n_rows_, n_cols_;
    std::string what_;
};

/// Rows of a CSR matrix given as borrowed arrays: values of type @p V, column indices of
/// type @p I and row pointers of type @p P (scipy uses int32 or int64 for both). The arrays
/// must outlive the reader. Values are converted to float32 block by block; a block whose
/// structure is broken (non-monotone indptr, an index outside [0, n_cols)) throws scx::Error
/// naming @p what.
template <class V, class I, class P> class CsrArraysReader final : public BorrowedRowReader {
public:
    CsrArraysReader(const V* values, const I* indices, const P* indptr, std::int64_t n_rows, std::int64_t n_cols,
                    std::string what)
        : BorrowedRowReader(n_rows, n_cols, std::move(what)), values_(values), indices_(indices), indptr_(indptr) {
        if (static_cast<std::int64_t>(indptr_[0]) != 0) throw Error(fmt::format("{}: indptr[0] is {}, not 0", what_, indptr_[0]));
    }
    void read_rows_into(std::int64_t begin, std::int64_t end, CsrMatrix& out) override {
        check_range(begin, end);
        const std::int64_t first = static_cast<std::int64_t>(indptr_[begin]);
        const std::int64_t last = static_cast<std::int64_t>(indptr_[end]);
        if (last < first) throw Error(fmt::format("{}: indptr decreases between rows {} and {}", what_, begin, end));
        out.n_rows = end - begin;
        out.n_cols = n_cols_;
        out.values.resize(static_cast<std::size_t>(last - first));
        out.indices.resize(static_cast<std::size_t>(last - first));
        out.indptr.resize(static_cast<std::size_t>(out.n_rows + 1));
        for (std::int64_t r = begin; r <= end; ++r) {
            const std::int64_t p = static_cast<std::int64_t>(indptr_[r]);
            if (p < first || p > last || (r > begin && p < out.indptr[r - begin - 1] + first))
                throw Error(fmt::format("{}: indptr is not monotone at row {}", what_, r));
            out.indptr[r - begin] = p - first;
        }
        for (std::int64_t k = first; k < last; ++k) {
            const auto j = static_cast<std::int64_t>(indices_[k]);
            if (j < 0 || j >= n_cols_) throw Error(fmt::format("{}: column index {} outside 0..{} (entry {})", what_, j, n_cols_, k));
            out.indices[k - first] = static_cast<std::int32_t>(j);
            out.values[k - first] = static_cast<float>(values_[k]);
        }
    }

private:
    const V* values_;
    const I* indices_;
    const P* indptr_;
};

/// Rows of a dense matrix given as a borrowed buffer of @p V with element strides (so a
/// C-ordered, Fortran-ordered or sliced numpy array is read where it lies). Exact zeros are
/// dropped, as csr_from_dense() does.
template <class V> class DenseArrayReader final : public BorrowedRowReader {
public:
    DenseArrayReader(const V* data, std::int64_t n_rows, std::int64_t n_cols, std::int64_t row_stride, std::int64_t col_stride,
                     std::string what)
        : BorrowedRowReader(n_rows, n_cols, std::move(what)), data_(data), row_stride_(row_stride), col_stride_(col_stride) {}
    void read_rows_into(std::int64_t begin, std::int64_t end, CsrMatrix& out) override {
        check_range(begin, end);
        out.n_rows = end - begin;
        out.n_cols = n_cols_;
        out.values.clear();
        out.indices.clear();
        out.indptr.assign(1, 0);
        for (std::int64_t r = begin; r < end; ++r) {
            const V* row = data_ + r * row_stride_;
            for (std::int64_t j = 0; j < n_cols_; ++j) {
                const V v = row[j * col_stride_];
                if (v != V(0)) {
                    out.values.push_back(static_cast<float>(v));
                    out.indices.push_back(static_cast<std::int32_t>(j));
                }
            }
            out.indptr.push_back(static_cast<std::int64_t>(out.values.size()));
        }
    }

private:
    const V* data_;
    std::int64_t row_stride_, col_stride_;
};

} // namespace scx
