#pragma once
/// @file dense.hpp
/// @brief Dense matrix aliases. Rows are cells, so storage is row-major.

#include <Eigen/Dense>

#include <cstddef>

namespace scx {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Rows @p rows of @p m, in that order (repeats allowed); @p rows is any sized range of
/// integer row indices (a vector or span of std::int64_t or Eigen::Index).
template <class Rows> RowMatrixF take_rows(const RowMatrixF& m, const Rows& rows) {
    RowMatrixF out(static_cast<Eigen::Index>(std::size(rows)), m.cols());
    Eigen::Index i = 0;
    for (const auto r : rows) out.row(i++) = m.row(static_cast<Eigen::Index>(r));
    return out;
}

} // namespace scx
