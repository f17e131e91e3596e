// Size arithmetic on numbers read from files: an overflow is refused, never wrapped.

#include "scextract/core/checked_math.hpp"

#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace scx {
namespace {

constexpr auto kMax = std::numeric_limits<std::int64_t>::max();

TEST(CheckedMath, ProductsAndSumsThatFitAreExact) {
    EXPECT_EQ(checked_mul<std::int64_t>(3, -4), -12);
    EXPECT_EQ(checked_add<std::int64_t>(kMax - 1, 1), kMax);
    EXPECT_EQ(checked_mul<std::uint64_t>(1ULL << 32, (1ULL << 32) - 1), (1ULL << 32) * ((1ULL << 32) - 1));
    EXPECT_EQ(checked_mul<std::int64_t>(6, 7, "unused"), 42);
}

TEST(CheckedMath, OverflowIsNulloptOrAnErrorNamingItsContext) {
    EXPECT_FALSE(checked_mul<std::int64_t>(kMax / 2 + 1, 2));
    EXPECT_FALSE(checked_add<std::int64_t>(kMax, 1));
    EXPECT_FALSE(checked_mul<std::uint64_t>(1ULL << 32, 1ULL << 32));
    EXPECT_FALSE(checked_add<std::uint64_t>(std::numeric_limits<std::uint64_t>::max(), 1));
    EXPECT_EQ(test::error_of([] { (void)checked_mul<std::int64_t>(kMax, 2, "x.pt: tensor 'w'"); }),
              "x.pt: tensor 'w': size overflows 64 bits");
    EXPECT_EQ(test::error_of([] { (void)checked_add<std::int64_t>(kMax, kMax, "x.pt"); }), "x.pt: size overflows 64 bits");
}

TEST(CheckedMath, NbytesRefusesNegativeDimensionsAndTotalsPastInt64) {
    EXPECT_EQ(checked_nbytes(std::vector<std::int64_t>{3, 4}, 4), 48U);
    EXPECT_EQ(checked_nbytes(std::vector<std::int64_t>{}, 8), 8U); // a scalar
    EXPECT_EQ(checked_nbytes(std::vector<std::int64_t>{0, kMax}, 8), 0U);
    EXPECT_FALSE(checked_nbytes(std::vector<std::int64_t>{2, -1}, 4));
    EXPECT_FALSE(checked_nbytes(std::vector<std::int64_t>{kMax / 4 + 1}, 4)); // > INT64_MAX, < UINT64_MAX
    EXPECT_FALSE(checked_nbytes(std::vector<std::int64_t>{kMax, kMax}, 1));
}

} // namespace
} // namespace scx
