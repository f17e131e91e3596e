#pragma once
/// @file dense.hpp
/// @brief Dense matrix aliases. Rows are cells, so storage is row-major.

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace scx {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Rows @p rows of @p m, in that order (repeats allowed).
inline RowMatrixF take_rows(const RowMatrixF& m, const std::vector<std::int64_t>& rows) {
    RowMatrixF out(static_cast<Eigen::Index>(rows.size()), m.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = m.row(rows[i]);
    return out;
}

} // namespace scx
