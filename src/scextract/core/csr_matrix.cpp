#include "scextract/core/csr_matrix.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace scx {

void CsrMatrix::validate(const std::string& what) const {
    if (n_rows < 0 || n_cols < 0) throw Error(fmt::format("{}: negative shape ({}, {})", what, n_rows, n_cols));
    if (static_cast<std::int64_t>(indptr.size()) != n_rows + 1)
        throw Error(fmt::format("{}: indptr has {} entries but the matrix has {} rows (expected {})", what,
                                indptr.size(), n_rows, n_rows + 1));
    if (indices.size() != values.size())
        throw Error(fmt::format("{}: {} indices but {} values", what, indices.size(), values.size()));
    if (indptr.front() != 0) throw Error(fmt::format("{}: indptr[0] is {}, expected 0", what, indptr.front()));
    if (indptr.back() != nnz())
        throw Error(fmt::format("{}: indptr ends at {} but there are {} stored values", what, indptr.back(), nnz()));
    for (std::int64_t r = 0; r < n_rows; ++r)
        if (indptr[r + 1] < indptr[r]) throw Error(fmt::format("{}: indptr decreases at row {}", what, r));
    for (std::size_t k = 0; k < indices.size(); ++k)
        if (indices[k] < 0 || indices[k] >= n_cols)
            throw Error(fmt::format("{}: column index {} at position {} is outside [0, {})", what, indices[k], k, n_cols));
}

std::optional<std::pair<std::int64_t, std::int32_t>> sort_row_indices(CsrMatrix& m) {
    std::vector<std::pair<std::int32_t, float>> row;
    for (std::int64_t r = 0; r < m.n_rows; ++r) {
        const auto lo = m.indptr[r], hi = m.indptr[r + 1];
        if (!std::is_sorted(m.indices.begin() + lo, m.indices.begin() + hi)) {
            row.clear();
            for (auto k = lo; k < hi; ++k) row.emplace_back(m.indices[k], m.values[k]);
            std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            for (auto k = lo; k < hi; ++k) {
                m.indices[k] = row[static_cast<std::size_t>(k - lo)].first;
                m.values[k] = row[static_cast<std::size_t>(k - lo)].second;
            }
        }
        for (auto k = lo + 1; k < hi; ++k)
            if (m.indices[k] == m.indices[k - 1]) return std::pair{r, m.indices[k]};
    }
    return std::nullopt;
}

CsrMatrix slice_rows(const CsrMatrix& m, std::int64_t begin, std::int64_t end) {
    if (begin < 0 || end < begin || end > m.n_rows)
        throw Error(fmt::format("row slice [{}, {}) outside a matrix of {} rows", begin, end, m.n_rows));
    CsrMatrix out;
    out.n_rows = end - begin;
    out.n_cols = m.n_cols;
    const auto lo = m.indptr[begin], hi = m.indptr[end];
    out.values.assign(m.values.begin() + lo, m.values.begin() + hi);
    out.indices.assign(m.indices.begin() + lo, m.indices.begin() + hi);
    out.indptr.resize(out.n_rows + 1);
    for (std::int64_t r = 0; r <= out.n_rows; ++r) out.indptr[r] = m.indptr[begin + r] - lo;
    return out;
}

CsrMatrix select_rows(const CsrMatrix& m, std::span<const std::int64_t> rows) {
    CsrMatrix out;
    out.n_rows = static_cast<std::int64_t>(rows.size());
    out.n_cols = m.n_cols;
    out.indptr.reserve(rows.size() + 1);
    std::int64_t nnz = 0;
    for (const auto r : rows) {
        if (r < 0 || r >= m.n_rows) throw Error(fmt::format("select_rows: row {} outside [0, {})", r, m.n_rows));
        nnz += m.indptr[r + 1] - m.indptr[r];
    }
    out.values.reserve(static_cast<std::size_t>(nnz));
    out.indices.reserve(static_cast<std::size_t>(nnz));
    for (const auto r : rows) {
        out.values.insert(out.values.end(), m.values.begin() + m.indptr[r], m.values.begin() + m.indptr[r + 1]);
        out.indices.insert(out.indices.end(), m.indices.begin() + m.indptr[r], m.indices.begin() + m.indptr[r + 1]);
        out.indptr.push_back(static_cast<std::int64_t>(out.values.size()));
    }
    return out;
}

CsrMatrix select_columns(const CsrMatrix& m, std::span<const std::int64_t> cols) {
    // old column -> list of new positions (a column may be selected twice)
    std::vector<std::int64_t> first(m.n_cols + 1, 0);
    for (auto c : cols) {
        if (c < 0 || c >= m.n_cols) throw Error(fmt::format("column {} outside a matrix of {} columns", c, m.n_cols));
        ++first[c + 1];
    }
    std::partial_sum(first.begin(), first.end(), first.begin());
    std::vector<std::int32_t> targets(cols.size());
    {
        auto fill = first;
        for (std::size_t j = 0; j < cols.size(); ++j) targets[fill[cols[j]]++] = static_cast<std::int32_t>(j);
    }
    CsrMatrix out;
    out.n_rows = m.n_rows;
    out.n_cols = static_cast<std::int64_t>(cols.size());
    out.indptr.assign(m.n_rows + 1, 0);
    std::vector<std::pair<std::int32_t, float>> row;
    for (std::int64_t r = 0; r < m.n_rows; ++r) {
        row.clear();
        for (auto k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
            const auto c = m.indices[k];
            for (auto t = first[c]; t < first[c + 1]; ++t) row.emplace_back(targets[t], m.values[k]);
        }
        std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [c, v] : row) {
            out.indices.push_back(c);
            out.values.push_back(v);
        }
        out.indptr[r + 1] = out.nnz();
    }
    return out;
}

CsrMatrix vstack(std::span<const CsrMatrix> blocks) {
    CsrMatrix out;
    if (blocks.empty()) return out;
    out.n_cols = blocks.front().n_cols;
    for (const auto& b : blocks) {
        if (b.n_cols != out.n_cols)
            throw Error(fmt::format("cannot stack blocks with {} and {} columns", out.n_cols, b.n_cols));
        const auto offset = out.nnz();
        out.values.insert(out.values.end(), b.values.begin(), b.values.end());
        out.indices.insert(out.indices.end(), b.indices.begin(), b.indices.end());
        for (std::int64_t r = 1; r <= b.n_rows; ++r) out.indptr.push_back(b.indptr[r] + offset);
        out.n_rows += b.n_rows;
    }
    return out;
}

CsrMatrix transpose(const CsrMatrix& m) {
    CsrMatrix t;
    t.n_rows = m.n_cols;
    t.n_cols = m.n_rows;
    t.indptr.assign(t.n_rows + 1, 0);
    for (auto c : m.indices) ++t.indptr[c + 1];
    std::partial_sum(t.indptr.begin(), t.indptr.end(), t.indptr.begin());
    t.values.resize(m.values.size());
    t.indices.resize(m.indices.size());
    auto next = t.indptr;
    for (std::int64_t r = 0; r < m.n_rows; ++r)
        for (auto k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
            const auto dst = next[m.indices[k]]++;
            t.indices[dst] = static_cast<std::int32_t>(r);
            t.values[dst] = m.values[k];
        }
    return t;
}

CsrMatrix csr_from_dense(std::span<const float> dense, std::int64_t n_rows, std::int64_t n_cols) {
    if (static_cast<std::int64_t>(dense.size()) != n_rows * n_cols)
        throw Error(fmt::format("dense buffer of {} values does not match shape ({}, {})", dense.size(), n_rows, n_cols));
    CsrMatrix out;
    out.n_rows = n_rows;
    out.n_cols = n_cols;
    out.indptr.assign(n_rows + 1, 0);
    for (std::int64_t r = 0; r < n_rows; ++r) {
        for (std::int64_t c = 0; c < n_cols; ++c) {
            const float v = dense[r * n_cols + c];
            if (v != 0.0f) {
                out.values.push_back(v);
                out.indices.push_back(static_cast<std::int32_t>(c));
            }
        }
        out.indptr[r + 1] = out.nnz();
    }
    return out;
}

std::vector<float> to_dense(const CsrMatrix& m) {
    std::vector<float> d(static_cast<std::size_t>(m.n_rows * m.n_cols), 0.0f);
    for (std::int64_t r = 0; r < m.n_rows; ++r)
        for (auto k = m.indptr[r]; k < m.indptr[r + 1]; ++k) d[r * m.n_cols + m.indices[k]] = m.values[k];
    return d;
}

} // namespace scx
