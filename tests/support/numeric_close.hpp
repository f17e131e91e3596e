#pragma once
// Comparing numbers with reference values from scipy / scikit-learn fixtures.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace scx::test {

/// |a - b| <= tol * max(|b|, 1): absolute below 1, relative above. NaN matches NaN and an
/// infinity matches itself.
inline ::testing::AssertionResult numerically_close(double a, double b, double tol) {
    if ((std::isnan(a) && std::isnan(b)) || a == b) return ::testing::AssertionSuccess();
    if (std::abs(a - b) <= tol * std::max(std::abs(b), 1.0)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << a << " vs expected " << b << " (diff " << a - b << ")";
}

} // namespace scx::test
