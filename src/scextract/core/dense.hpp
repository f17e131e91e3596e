#pragma once
/// @file dense.hpp
/// @brief Dense matrix aliases. Rows are cells, so storage is row-major.

#include <Eigen/Dense>

namespace scx {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

} // namespace scx
