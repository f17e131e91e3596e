// Operator factors: a low-rank block's factors are numpy's SVD of L R (singular values and
// rank-one terms, which no sign convention changes), a dense head truncates, sparse factors
// keep their own, and removing factors subtracts exactly their rank-one terms.
#include "scextract/core/error.hpp"
#include "scextract/interpret/operator_factors.hpp"

#include "../support/json_fixture.hpp"

#include <gtest/gtest.h>

namespace {

scx::FeatureOperator low_rank_fixture() {
    const auto ref = scx::test::load_json_fixture("interpret/interpret.json").at("low_rank");
    scx::FeatureOperator op;
    const scx::RowMatrixD L = scx::test::json_matrix(ref.at("left")), R = scx::test::json_matrix(ref.at("right"));
    for (Eigen::Index i = 0; i < L.rows(); ++i) op.genes.push_back("G" + std::to_string(i));
    scx::FeatureBlock b;
    b.name = "L2H5 rank 3";
    b.form = scx::FeatureBlock::Form::low_rank;
    b.left = L.cast<float>();
    b.right = R.cast<float>();
    op.blocks.push_back(b);
    return op;
}

TEST(OperatorFactors, LowRankFactorsAreNumpysSvdOfTheProduct) {
    const auto ref = scx::test::load_json_fixture("interpret/interpret.json").at("low_rank");
    const auto f = scx::operator_factors(low_rank_fixture());
    ASSERT_EQ(f.size(), 3);
    EXPECT_EQ(f.form, "low_rank");
    EXPECT_TRUE(f.exact);
    const auto s = scx::test::json_doubles(ref.at("singular_values"));
    for (int k = 0; k < 3; ++k) {
        EXPECT_NEAR(f.scale(k), s[static_cast<std::size_t>(k)], 1e-5 * s[0]);
        const scx::RowMatrixD term = f.scale(k) * f.read.col(k) * f.write.col(k).transpose();
        const scx::RowMatrixD expected = scx::test::json_matrix(ref.at("terms").at(static_cast<std::size_t>(k)));
        EXPECT_LT((term - expected).cwiseAbs().maxCoeff(), 1e-4 * s[0]) << "factor " << k;
        EXPECT_NEAR(f.read.col(k).norm(), 1.0, 1e-9);
        Eigen::Index at = 0;
        f.read.col(k).cwiseAbs().maxCoeff(&at);
        EXPECT_GT(f.read(at, k), 0.0) << "sign convention: largest |read| positive";
    }
    EXPECT_EQ(scx::OperatorFactors::name(3), "f03");
}

TEST(OperatorFactors, DenseHeadsTruncateAndSparseFactorsKeepTheirOwnInScaleOrder) {
    auto op = low_rank_fixture();
    auto& b = op.blocks.front();
    b.dense = b.left * b.right;
    b.form = scx::FeatureBlock::Form::dense;
    const auto dense = scx::operator_factors(op, {.max_factors = 2});
    EXPECT_EQ(dense.size(), 2);
    EXPECT_FALSE(dense.exact);
    const auto full = scx::operator_factors(op, {.max_factors = 64});
    EXPECT_EQ(full.size(), 9);
    EXPECT_TRUE(full.exact);
    EXPECT_LT(full.scale(3), 1e-4 * full.scale(0)) << "a rank-3 product has three non-zero singular values";

    scx::FeatureBlock sparse;
    sparse.name = "sparse";
    sparse.form = scx::FeatureBlock::Form::sparse_factors;
    sparse.factors.push_back({{0, 2}, {0.6F, -0.8F}, {1}, {1.0F}, 0.5F});
    sparse.factors.push_back({{4}, {-1.0F}, {3, 5}, {0.6F, 0.8F}, 2.0F});
    op.blocks = {sparse};
    const auto f = scx::operator_factors(op);
    ASSERT_EQ(f.size(), 2);
    EXPECT_DOUBLE_EQ(f.scale(0), 2.0);
    EXPECT_DOUBLE_EQ(f.read(4, 0), 1.0) << "sign fixed: largest |read| positive, write flipped with it";
    EXPECT_NEAR(f.write(3, 0), -0.6, 1e-7);
    EXPECT_NEAR(f.read(2, 1), 0.8, 1e-7) << "the second factor flips too (its largest |read| was negative)";
}

TEST(OperatorFactors, RemovingFactorsSubtractsTheirTermsWhateverTheThreads) {
    const auto op = low_rank_fixture();
    const auto f = scx::operator_factors(op);
    scx::RowMatrixF x = scx::RowMatrixF::Random(700, 9).cwiseAbs();
    const scx::RowMatrixF features = op.apply(x, 1);
    const auto none = scx::removed_factor_features(f, x, {true, true, true}, 2);
    EXPECT_EQ(none.cwiseAbs().maxCoeff(), 0.0F);
    const auto all = scx::removed_factor_features(f, x, {false, false, false}, 2);
    EXPECT_LT((all - features).cwiseAbs().maxCoeff(), 1e-4F * features.cwiseAbs().maxCoeff());
    const auto one = scx::removed_factor_features(f, x, {true, false, true}, 1);
    const scx::RowMatrixD expected = (x.cast<double>() * f.read.col(1)) * (f.scale(1) * f.write.col(1).transpose());
    EXPECT_LT((one.cast<double>() - expected).cwiseAbs().maxCoeff(), 1e-4 * expected.cwiseAbs().maxCoeff());
    const auto one2 = scx::removed_factor_features(f, x, {true, false, true}, 2);
    EXPECT_EQ((one - one2).cwiseAbs().maxCoeff(), 0.0F) << "same bits for 1 and 2 threads";
    EXPECT_THROW((void)scx::removed_factor_features(f, x, {true, true}, 1), scx::Error);
}

TEST(OperatorFactors, MultiBlockOperatorsAreRefusedNamingTheBlocks) {
    auto op = low_rank_fixture();
    op.blocks.push_back(op.blocks.front());
    op.blocks.back().name = "mid-late";
    try {
        (void)scx::operator_factors(op);
        FAIL() << "a two-block operator was factored";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("2 feature blocks (L2H5 rank 3, mid-late)"), std::string::npos) << e.what();
    }
}

TEST(OperatorFactors, TopLoadingsAreByMagnitudeWithSignsAndSkipZeros) {
    const std::vector<std::string> genes{"A", "B", "C", "D", "E"};
    Eigen::VectorXd v(5);
    v << 0.1, -0.9, 0.0, 0.9, 0.3;
    const auto top = scx::top_loadings(v, genes, 10);
    ASSERT_EQ(top.size(), 4U) << "zero loadings are never listed";
    EXPECT_EQ(top[0].gene, "B") << "ties by panel order";
    EXPECT_DOUBLE_EQ(top[0].loading, -0.9);
    EXPECT_EQ(top[1].gene, "D");
    EXPECT_EQ(top[2].gene, "E");
    EXPECT_EQ(scx::top_loadings(v, genes, 2).size(), 2U);
}

} // namespace
