// Feature operators from exported operators: the pooled drift operator, one head, weighted
// heads, the rank-r SVD surrogate (checked against Eckart-Young with an independent SVD)
// and hard-sparse factors.

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/extract/compress.hpp"

#include <gtest/gtest.h>

#include <Eigen/SVD>

#include <cmath>

namespace {

scx::OperatorSet random_set(std::int64_t layers, std::int64_t heads, std::int64_t g, std::uint64_t seed = 3) {
    scx::OperatorSet s;
    s.n_layers = layers;
    s.n_heads = heads;
    scx::Rng rng(seed);
    for (std::int64_t i = 0; i < g; ++i) {
        s.genes.push_back("G" + std::to_string(i));
        s.vocab_ids.push_back(i);
    }
    for (std::int64_t k = 0; k < layers * heads; ++k) {
        scx::RowMatrixF m(g, g);
        for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.uniform());
        s.ops.push_back(m);
    }
    return s;
}

scx::RowMatrixF random_x(std::int64_t n, std::int64_t g) {
    scx::Rng rng(9);
    scx::RowMatrixF x(n, g);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.normal());
    return x;
}

TEST(Compress, DriftBlocksSplitLayersInThree) {
    using P = std::vector<std::pair<std::int64_t, std::int64_t>>;
    EXPECT_EQ(scx::drift_layer_blocks(12), (P{{0, 4}, {4, 8}, {8, 12}}));
    EXPECT_EQ(scx::drift_layer_blocks(3), (P{{0, 1}, {1, 2}, {2, 3}}));
    EXPECT_THROW(scx::drift_layer_blocks(2), scx::Error);
}

TEST(Compress, PooledDriftIsTheDifferenceOfLayerMeans) {
    const auto s = random_set(6, 2, 7);
    const auto x = random_x(5, 7);
    for (const auto o : {scx::Orientation::xA, scx::Orientation::xAT}) {
        const auto f = scx::pooled_drift_operator(s, o);
        ASSERT_EQ(f.n_features(), 14);
        const auto mean = [&](int l0) {
            Eigen::MatrixXd m = Eigen::MatrixXd::Zero(7, 7);
            for (int l = l0; l < l0 + 2; ++l)
                for (int h = 0; h < 2; ++h) m += s.op(l, h).cast<double>();
            return Eigen::MatrixXd(m / 4.0);
        };
        Eigen::MatrixXd em = mean(0) - mean(2), ml = mean(2) - mean(4);
        if (o == scx::Orientation::xAT) em.transposeInPlace(), ml.transposeInPlace();
        const auto out = f.apply(x);
        const Eigen::MatrixXd want1 = x.cast<double>() * em, want2 = x.cast<double>() * ml;
        EXPECT_LT((out.leftCols(7).cast<double>() - want1).cwiseAbs().maxCoeff(), 1e-5);
        EXPECT_LT((out.rightCols(7).cast<double>() - want2).cwiseAbs().maxCoeff(), 1e-5);
    }
}

TEST(Compress, SingleAndWeightedHeads) {
    const auto s = random_set(3, 4, 6);
    const auto x = random_x(4, 6);
    const auto one = scx::single_head_operator(s, 2, 3, scx::Orientation::xA);
    EXPECT_LT((one.apply(x) - x * s.op(2, 3)).cwiseAbs().maxCoeff(), 1e-5);
    const auto w = scx::weighted_heads_operator(s, {{2, 3, 3.0}, {0, 1, 1.0}}, scx::Orientation::xA);
    const scx::RowMatrixF want = x * ((3.0F * s.op(2, 3) + s.op(0, 1)) / 4.0F);
    EXPECT_LT((w.apply(x) - want).cwiseAbs().maxCoeff(), 1e-5);
    EXPECT_THROW(scx::single_head_operator(s, 3, 0, scx::Orientation::xA), scx::Error);
    EXPECT_THROW(scx::weighted_heads_operator(s, {{0, 0, 0.0}}, scx::Orientation::xA), scx::Error);
    const auto parsed = scx::parse_weighted_heads("2:5:0.7,0:1");
    ASSERT_EQ(parsed.size(), 2U);
    EXPECT_EQ(parsed[0].layer, 2);
    EXPECT_EQ(parsed[0].head, 5);
    EXPECT_DOUBLE_EQ(parsed[0].weight, 0.7);
    EXPECT_DOUBLE_EQ(parsed[1].weight, 1.0);
    EXPECT_THROW(scx::parse_weighted_heads("2-5"), scx::UsageError);
}

TEST(Compress, RankRIsTheBestRankRApproximation) {
    const auto s = random_set(3, 2, 40);
    const auto head = scx::single_head_operator(s, 1, 1, scx::Orientation::xA);
    // Eckart-Young: the error of the best rank-r approximation is the norm of the tail singular values
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(s.op(1, 1).cast<double>());
    const Eigen::VectorXd sv = svd.singularValues();
    for (const std::int64_t r : {1, 8, 16, 40}) {
        const auto lr = scx::low_rank_operator(head, r);
        EXPECT_EQ(lr.blocks[0].form, scx::FeatureBlock::Form::low_rank);
        EXPECT_EQ(lr.blocks[0].left.cols(), r);
        const double err = scx::relative_errors(head, lr)[0];
        const double want = std::sqrt(sv.tail(40 - r).squaredNorm()) / sv.norm();
        EXPECT_NEAR(err, want, 1e-5) << "rank " << r;
        EXPECT_NEAR(lr.size_mb(), 4.0 * 2 * 40 * r / 1e6, 1e-12);
    }
    EXPECT_THROW(scx::low_rank_operator(scx::low_rank_operator(head, 4), 2), scx::Error); // compress the dense form only
}

TEST(Compress, HardSparseKeepsTopGenesPerFactor) {
    const auto s = random_set(3, 2, 30);
    const auto head = scx::single_head_operator(s, 0, 0, scx::Orientation::xA);
    const auto sp = scx::hard_sparse_operator(head, 4, 5, 7);
    ASSERT_EQ(sp.blocks[0].factors.size(), 4U);
    for (const auto& f : sp.blocks[0].factors) {
        EXPECT_EQ(f.read_genes.size(), 5U);
        EXPECT_EQ(f.write_genes.size(), 7U);
    }
    // keeping every gene of every factor reproduces the head exactly
    const auto full = scx::hard_sparse_operator(head, 30, 30, 30);
    EXPECT_LT(scx::relative_errors(head, full)[0], 1e-5);
    // ...and with every gene, the top-r factors equal the rank-r surrogate
    EXPECT_NEAR(scx::relative_errors(head, scx::hard_sparse_operator(head, 8, 30, 30))[0],
                scx::relative_errors(head, scx::low_rank_operator(head, 8))[0], 1e-5);
}

TEST(Compress, BuildFromSpec) {
    const auto s = random_set(3, 6, 10);
    scx::FeatureSpec spec;
    EXPECT_EQ(scx::build_feature_operator(s, spec).blocks.size(), 2U);
    spec.variant = "rank";
    spec.rank = 3;
    EXPECT_EQ(scx::build_feature_operator(s, spec).blocks[0].left.cols(), 3);
    spec.variant = "nonsense";
    EXPECT_THROW(scx::build_feature_operator(s, spec), scx::UsageError);
}

} // namespace
