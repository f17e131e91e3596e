#include "scextract/core/error.hpp"
#include "scextract/extract/control_operators.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

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

TEST(ControlOperators, GenePermutedIsOneRelabellingOfEveryBlock) {
    const auto op = two_blocks();
    const auto control = gene_permuted_operator(op, 7);
    ASSERT_EQ(control.blocks.size(), 2U);
    EXPECT_EQ(control.genes, op.genes);
    const RowMatrixF x = RowMatrixF::Random(3, 5);
    const RowMatrixF f = op.apply(x, 1);
    const RowMatrixF fc = control.apply(x, 1);
    // B'[i][j] = B[pi(i)][pi(j)] for exactly one pi of the 120, the same for both blocks
    std::vector<int> pi = {0, 1, 2, 3, 4};
    int found = 0;
    do {
        bool same = true;
        for (int b = 0; b < 2 && same; ++b) {
            const RowMatrixF m = b == 0 ? op.blocks[0].dense : RowMatrixF(op.blocks[1].left * op.blocks[1].right);
            for (int i = 0; i < 5 && same; ++i)
                for (int j = 0; j < 5 && same; ++j)
                    same = std::abs(control.blocks[b].dense(i, j) - m(pi[i], pi[j])) <= 1e-6F * (1.0F + std::abs(m(pi[i], pi[j])));
        }
        found += same;
    } while (std::next_permutation(pi.begin(), pi.end()));
    EXPECT_EQ(found, 1);
    EXPECT_GT((fc - f).norm(), 0.1F); // the features change: pi is not the identity here
    // spectra are kept, seeded
    const auto want = block_singular_values(op);
    const auto got = block_singular_values(control);
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t i = 0; i < want[b].size(); ++i) EXPECT_NEAR(got[b][i], want[b][i], 1e-5 * (1 + want[b][0]));
    EXPECT_EQ(gene_permuted_operator(op, 7).blocks[1].dense, control.blocks[1].dense);
    EXPECT_NE(gene_permuted_operator(op, 8).blocks[0].dense, control.blocks[0].dense);
}

} // namespace
} // namespace scx
