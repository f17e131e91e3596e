#include "scextract/core/error.hpp"
#include "scextract/extract/control_operators.hpp"

#include <gtest/gtest.h>

namespace scx {
namespace {

FeatureOperator two_blocks() {
    FeatureOperator op;
    op.genes = {"a", "b", "c", "d", "e"};
    FeatureBlock dense;
    dense.name = "dense";
    dense.dense = RowMatrixF(5, 5);
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) dense.dense(i, j) = static_cast<float>((i + 1) * (j + 2) % 7) - 2.5F;
    FeatureBlock low;
    low.name = "low";
    low.form = FeatureBlock::Form::low_rank;
    low.left = RowMatrixF::Random(5, 2);
    low.right = RowMatrixF::Random(2, 5);
    op.blocks = {dense, low};
    op.description = "test";
    return op;
}

TEST(ControlOperators, IdentityReturnsThePanelExpression) {
    const auto op = identity_operator({"a", "b", "c"});
    RowMatrixF x(2, 3);
    x << 1, 2, 3, 4, 5, 6;
    EXPECT_EQ(op.apply(x, 1), x);
    EXPECT_THROW((void)identity_operator({}), Error);
}

TEST(ControlOperators, MatchedSpectrumKeepsSingularValuesOnly) {
    const auto op = two_blocks();
    const auto control = matched_spectrum_operator(op, 7);
    ASSERT_EQ(control.blocks.size(), 2U);
    const auto want = block_singular_values(op);
    const auto got = block_singular_values(control);
    for (std::size_t b = 0; b < 2; ++b) {
        ASSERT_EQ(got[b].size(), want[b].size());
        for (std::size_t i = 0; i < want[b].size(); ++i) EXPECT_NEAR(got[b][i], want[b][i], 1e-5 * (1 + want[b][0]));
        EXPECT_EQ(control.blocks[b].form, FeatureBlock::Form::dense);
    }
    // Not the original matrix, and seeded.
    EXPECT_GT((control.blocks[0].dense - op.blocks[0].dense).norm(), 0.1F);
    EXPECT_EQ(matched_spectrum_operator(op, 7).blocks[1].dense, control.blocks[1].dense);
    EXPECT_NE(matched_spectrum_operator(op, 8).blocks[1].dense, control.blocks[1].dense);
}

} // namespace
} // namespace scx
