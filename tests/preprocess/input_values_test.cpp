// What the input holds: raw counts pass as they are; log1p(normalize_total) values are
// recognised, their target sum read off the data, and turned back into the values the method
// needs (expm1) exactly up to float rounding; scaled, centred, subset or unlogged values and
// claims the data contradict are refused with the matrix named. Real PBMC counts throughout.

#include "scextract/preprocess/input_values.hpp"

#include "../support/error_of.hpp"
#include "fixture_files.hpp"
#include "scextract/core/error.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace scx {
namespace {

CsrMatrix pbmc_counts() { return test::read_counts_csr(test::fixture_dir() / "pbmc68k_counts.scxcsr"); }

CsrMatrix lognorm_of(const CsrMatrix& counts, double target) {
    return log1p(normalize_total(counts, {.target_sum = target}));
}

InputValues resolve(const CsrMatrix& x, InputValuesOptions o = {}) {
    return resolve_input_values(inspect_values(x), o, "cells.h5ad X", "use --layer counts");
}

TEST(InputValues, CountsAreDetectedAndLeftAlone) {
    const auto counts = pbmc_counts();
    const auto v = resolve(counts);
    EXPECT_EQ(v.kind, InputKind::counts);
    EXPECT_TRUE(v.detected);
    EXPECT_FALSE(v.normalized());
    auto x = counts;
    to_method_values_in_place(x, v);
    EXPECT_EQ(x.values, counts.values);
    EXPECT_NE(v.describe("cells.h5ad X").find("raw counts (detected"), std::string::npos);
}

TEST(InputValues, LogNormalisedIsDetectedWithItsTargetSum) {
    const auto counts = pbmc_counts();
    for (const double target : {1e4, 1e6, 5000.0}) {
        const auto v = resolve(lognorm_of(counts, target));
        EXPECT_EQ(v.kind, InputKind::lognorm) << target;
        EXPECT_TRUE(v.detected);
        EXPECT_NEAR(v.target_sum, target, 1e-4 * target);
        EXPECT_NE(v.describe("X").find(fmt::format("normalised to {:g} per cell", v.target_sum)), std::string::npos);
    }
}

TEST(InputValues, RecoveredValuesGiveTheMethodsFeaturesUpToFloatRounding) {
    // the method forms log1p(normalize_total(x, 1e4)); from expm1 of the log values it must
    // get what it gets from the counts, whatever target the file was normalised to
    const auto counts = pbmc_counts();
    const auto from_counts = lognorm_of(counts, 1e4);
    for (const double target : {1e4, 1e6}) {
        auto x = lognorm_of(counts, target);
        const auto v = resolve(x);
        to_method_values_in_place(x, v, 2);
        const auto features = lognorm_of(x, 1e4);
        ASSERT_EQ(features.indices, from_counts.indices);
        double worst = 0;
        for (std::size_t i = 0; i < features.values.size(); ++i)
            worst = std::max(worst, static_cast<double>(std::abs(features.values[i] - from_counts.values[i])));
        EXPECT_LT(worst, 2e-6) << "target " << target;
    }
}

TEST(InputValues, ThreadCountDoesNotChangeTheRecoveredValues) {
    auto one = lognorm_of(pbmc_counts(), 1e4);
    auto two = one;
    const auto v = resolve(one);
    to_method_values_in_place(one, v, 1);
    to_method_values_in_place(two, v, 2);
    EXPECT_EQ(one.values, two.values);
}

TEST(InputValues, StatedKindsAndTargetsAreChecked) {
    const auto counts = pbmc_counts();
    const auto lognorm = lognorm_of(counts, 1e4);
    EXPECT_EQ(resolve(lognorm, {.kind = InputKind::lognorm, .target_sum = 1e4}).kind, InputKind::lognorm);
    EXPECT_FALSE(resolve(lognorm, {.kind = InputKind::lognorm}).detected);
    const auto wrong_target = test::error_of([&] { resolve(lognorm, {.kind = InputKind::lognorm, .target_sum = 1e6}); });
    EXPECT_NE(wrong_target.find("cells.h5ad X: --target-sum 1e+06 was stated, but every cell's expm1 sum is 10000"),
              std::string::npos)
        << wrong_target;
    const auto counts_as_log = test::error_of([&] { resolve(counts, {.kind = InputKind::lognorm}); });
    EXPECT_NE(counts_as_log.find("--input-kind lognorm, but it holds non-negative integer counts"), std::string::npos)
        << counts_as_log;
    const auto log_as_counts = test::error_of([&] { resolve(lognorm, {.kind = InputKind::counts}); });
    EXPECT_NE(log_as_counts.find("expected raw counts"), std::string::npos) << log_as_counts;
    EXPECT_THROW(resolve(lognorm, {.kind = InputKind::counts, .target_sum = 1e4}), UsageError);
    EXPECT_THROW(resolve(lognorm, {.target_sum = -1.0}), UsageError);
}

TEST(InputValues, WhatCannotBeRecoveredIsRefused) {
    const auto counts = pbmc_counts();
    const auto lognorm = lognorm_of(counts, 1e4);
    // genes dropped after normalising: the per-cell expm1 sums no longer agree
    std::vector<std::int64_t> half(static_cast<std::size_t>(counts.n_cols / 2));
    std::iota(half.begin(), half.end(), std::int64_t{0});
    const auto subset = test::error_of([&] { resolve(select_columns(lognorm, half)); });
    EXPECT_NE(subset.find("cells.h5ad X: looks log-normalised"), std::string::npos) << subset;
    EXPECT_NE(subset.find("cannot be recovered exactly; use --layer counts"), std::string::npos) << subset;
    // centred values (sc.pp.scale)
    auto scaled = lognorm;
    for (auto& x : scaled.values) x -= 3.0f;
    const auto centred = test::error_of([&] { resolve(scaled); });
    EXPECT_NE(centred.find("scaled or centred values cannot be turned back into expression"), std::string::npos) << centred;
    // normalised but not logged
    const auto plain = test::error_of([&] { resolve(normalize_total(counts, {.target_sum = 1e4})); });
    EXPECT_NE(plain.find("normalised but not logged"), std::string::npos) << plain;
    auto bad = lognorm;
    bad.values[3] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_NE(test::error_of([&] { resolve(bad); }).find("NaN or infinite"), std::string::npos);
}

TEST(InputValues, LaterBlocksMustMatchTheFirst) {
    const auto counts = pbmc_counts();
    const auto lognorm = lognorm_of(counts, 1e4);
    const auto first = resolve(lognorm);
    EXPECT_NO_THROW(check_input_block(inspect_values(lognorm), first, {}, "cells 0-700"));
    const auto other = test::error_of([&] { check_input_block(inspect_values(lognorm_of(counts, 1e6)), first, {}, "cells 700-1400"); });
    EXPECT_NE(other.find("cells 700-1400: these cells' expm1 sums are 1e+06, earlier cells' 10000"), std::string::npos) << other;
    const auto as_counts = resolve(counts);
    EXPECT_THROW(check_input_block(inspect_values(lognorm), as_counts, {}, "cells 700-1400"), Error);
}

TEST(InputValues, KindNamesRoundTrip) {
    for (const auto k : {InputKind::detect, InputKind::counts, InputKind::lognorm})
        EXPECT_EQ(parse_input_kind(input_kind_name(k)), k);
    EXPECT_THROW(parse_input_kind("log"), UsageError);
}

} // namespace
} // namespace scx
