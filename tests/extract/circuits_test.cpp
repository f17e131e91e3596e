// Weights-only QK / OV circuits (extract/circuits.hpp) against PyTorch (tests/fixtures/circuits,
// made by tests/fixtures/make_circuit_fixtures.py with torch's multi_head_attention_forward and
// matmul in float64) and against a direct Eigen computation of METHOD.md's formulas.

#include "scextract/extract/circuits.hpp"
#include "scextract/io/npy.hpp"

#include "../support/error_of.hpp"
#include "../support/fixture_weights.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using scx::test::error_of;

fs::path circuit_fixture(const std::string& config) {
    return fs::path(SCX_SOURCE_DIR) / "tests/fixtures/circuits" / config;
}

/// Largest |ours - reference| / (1 + |reference|) over every head of @p set against [L, H, G, G] @p ref.
double max_gap(const scx::OperatorSet& set, const scx::NpyArray& ref) {
    const auto r = ref.to_double();
    const std::int64_t g = set.n_genes();
    EXPECT_EQ(ref.shape, (std::vector<std::int64_t>{set.n_layers, set.n_heads, g, g}));
    double worst = 0;
    for (std::int64_t l = 0; l < set.n_layers; ++l)
        for (std::int64_t h = 0; h < set.n_heads; ++h)
            for (std::int64_t i = 0; i < g; ++i)
                for (std::int64_t j = 0; j < g; ++j) {
                    const double want = r[static_cast<std::size_t>(((l * set.n_heads + h) * g + i) * g + j)];
                    worst = std::max(worst, std::abs(set.op(l, h)(i, j) - want) / (1.0 + std::abs(want)));
                }
    return worst;
}

scx::CircuitOptions circuit_options(scx::CircuitKind kind, int threads = 0) {
    scx::CircuitOptions o;
    o.kind = kind;
    o.threads = threads;
    return o;
}

class CircuitsVsTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(CircuitsVsTorch, QkAndOvMatchPyTorch) {
    const auto weights = scx::test::load_fixture_weights(GetParam());
    const auto dir = circuit_fixture(GetParam());
    const auto panel = scx::read_npy(dir / "panel_ids.npy").to_int64();
    for (auto kind : {scx::CircuitKind::qk, scx::CircuitKind::ov}) {
        scx::CircuitOptions o;
        o.kind = kind;
        o.threads = 2;
        const auto set = scx::run_circuits(weights, panel, o);
        EXPECT_EQ(set.n_layers, weights.config.n_layers);
        EXPECT_EQ(set.n_heads, weights.config.n_heads);
        EXPECT_EQ(set.vocab_ids, panel);
        const auto ref = scx::read_npy(dir / (std::string(scx::circuit_kind_name(kind)) + ".npy"));
        // float32 rounding of a float64 computation: a few 1e-8 relative
        EXPECT_LT(max_gap(set, ref), 2e-7) << scx::circuit_kind_name(kind);
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CircuitsVsTorch, ::testing::Values("d16_h4", "d32_h8"));

/// METHOD.md's formulas written out with plain Eigen products, in double.
scx::RowMatrixD direct(const scx::ScGptWeights& w, const std::vector<std::int64_t>& ids, std::int64_t l, std::int64_t h,
                       bool qk) {
    const std::int64_t d = w.config.d_model, dh = d / w.config.n_heads;
    scx::RowMatrixD e(static_cast<Eigen::Index>(ids.size()), d);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const Eigen::RowVectorXd x = w.gene_embedding.row(ids[i]).cast<double>();
        const Eigen::RowVectorXd c = x.array() - x.mean();
        const double var = c.squaredNorm() / static_cast<double>(d);
        e.row(static_cast<Eigen::Index>(i)) =
            (c / std::sqrt(var + 1e-5)).cwiseProduct(w.enc_norm_w.cast<double>().transpose()) + w.enc_norm_b.cast<double>().transpose();
    }
    const auto& L = w.layers[static_cast<std::size_t>(l)];
    const Eigen::MatrixXd wqkv = L.Wqkv.cast<double>();
    const Eigen::VectorXd b = L.bqkv.cast<double>();
    if (qk) {
        Eigen::MatrixXd q = e * wqkv.middleRows(h * dh, dh).transpose();
        q.rowwise() += b.segment(h * dh, dh).transpose();
        Eigen::MatrixXd k = e * wqkv.middleRows(d + h * dh, dh).transpose();
        k.rowwise() += b.segment(d + h * dh, dh).transpose();
        Eigen::MatrixXd s = q * k.transpose() / std::sqrt(static_cast<double>(dh));
        for (Eigen::Index i = 0; i < s.rows(); ++i) {
            s.row(i) = (s.row(i).array() - s.row(i).maxCoeff()).exp();
            s.row(i) /= s.row(i).sum();
        }
        return s;
    }
    const Eigen::MatrixXd wo_h = L.Wo.cast<double>().middleCols(h * dh, dh);
    return e * wqkv.middleRows(2 * d + h * dh, dh).transpose() * wo_h.transpose() * e.transpose();
}

/// A random model larger than the fixtures (d 64, 8 heads), for the direct comparison.
scx::ScGptWeights random_weights(std::int64_t vocab, std::int64_t d, std::int64_t heads, std::int64_t layers) {
    std::mt19937 rng(99);
    std::normal_distribution<float> n(0.0F, 0.3F);
    const auto m = [&](std::int64_t r, std::int64_t c) {
        scx::RowMatrixF x(r, c);
        for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = n(rng);
        return x;
    };
    const auto v = [&](std::int64_t r) { return scx::VectorF(m(r, 1).col(0)); };
    scx::ScGptWeights w;
    w.config.n_layers = layers;
    w.config.n_heads = heads;
    w.config.d_model = d;
    w.config.d_hid = d;
    w.gene_embedding = m(vocab, d);
    w.enc_norm_w = v(d).array() + 1.0F;
    w.enc_norm_b = v(d);
    for (std::int64_t l = 0; l < layers; ++l) {
        scx::ScGptLayerWeights L;
        L.Wqkv = m(3 * d, d);
        L.bqkv = v(3 * d);
        L.Wo = m(d, d);
        L.bo = v(d);
        w.layers.push_back(L);
    }
    return w;
}

TEST(Circuits, MatchADirectEigenComputation) {
    const auto w = random_weights(300, 64, 8, 2);
    std::vector<std::int64_t> ids;
    for (std::int64_t k = 0; k < 40; ++k) ids.push_back((k * 37 + 11) % 300);
    for (auto kind : {scx::CircuitKind::qk, scx::CircuitKind::ov}) {
        const auto set = scx::run_circuits(w, ids, circuit_options(kind, 1));
        double worst = 0;
        for (std::int64_t l = 0; l < 2; ++l)
            for (std::int64_t h = 0; h < 8; ++h) {
                const scx::RowMatrixD ref = direct(w, ids, l, h, kind == scx::CircuitKind::qk);
                worst = std::max(worst, ((set.op(l, h).cast<double>() - ref).array().abs() / (1.0 + ref.array().abs())).maxCoeff());
            }
        EXPECT_LT(worst, 2e-7) << scx::circuit_kind_name(kind);
    }
}

TEST(Circuits, QkRowsAreDistributionsAndKeyBiasCancels) {
    auto w = random_weights(100, 32, 4, 1);
    std::vector<std::int64_t> ids{5, 1, 77, 42, 9, 63};
    const auto a = scx::run_circuits(w, ids, circuit_options(scx::CircuitKind::qk));
    for (std::int64_t h = 0; h < 4; ++h) {
        EXPECT_TRUE((a.op(0, h).rowwise().sum().array() - 1.0F).abs().maxCoeff() < 1e-6F);
        EXPECT_GE(a.op(0, h).minCoeff(), 0.0F);
    }
    // the key bias adds the same logit to a whole row: no effect; the query bias has one
    w.layers[0].bqkv.segment(32, 32).setConstant(5.0F);
    const auto b = scx::run_circuits(w, ids, circuit_options(scx::CircuitKind::qk));
    EXPECT_LT((a.op(0, 2) - b.op(0, 2)).cwiseAbs().maxCoeff(), 1e-6F);
    w.layers[0].bqkv.segment(0, 32).setConstant(5.0F);
    const auto c = scx::run_circuits(w, ids, circuit_options(scx::CircuitKind::qk));
    EXPECT_GT((a.op(0, 2) - c.op(0, 2)).cwiseAbs().maxCoeff(), 1e-3F);
}

TEST(Circuits, OvIgnoresValueAndOutputBiases) {
    auto w = random_weights(100, 32, 4, 1);
    std::vector<std::int64_t> ids{5, 1, 77, 42};
    const auto a = scx::run_circuits(w, ids, circuit_options(scx::CircuitKind::ov));
    w.layers[0].bqkv.segment(64, 32).setConstant(3.0F);
    w.layers[0].bo.setConstant(3.0F);
    const auto b = scx::run_circuits(w, ids, circuit_options(scx::CircuitKind::ov));
    for (std::size_t k = 0; k < a.ops.size(); ++k) EXPECT_EQ(a.ops[k], b.ops[k]);
    EXPECT_EQ(a.provenance.mode, "ov");
    EXPECT_NE(a.provenance.bias_handling.find("value and output biases left out"), std::string::npos);
    EXPECT_NE(a.provenance.exactness.find("exact only for layer 0"), std::string::npos);
}

TEST(Circuits, BitIdenticalForAnyThreadCount) {
    const auto w = random_weights(200, 64, 8, 3);
    std::vector<std::int64_t> ids;
    for (std::int64_t k = 0; k < 50; ++k) ids.push_back((k * 13 + 3) % 200);
    for (auto kind : {scx::CircuitKind::qk, scx::CircuitKind::ov}) {
        const auto one = scx::run_circuits(w, ids, circuit_options(kind, 1));
        const auto two = scx::run_circuits(w, ids, circuit_options(kind, 2));
        const auto five = scx::run_circuits(w, ids, circuit_options(kind, 5));
        for (std::size_t k = 0; k < one.ops.size(); ++k) {
            EXPECT_EQ(std::memcmp(one.ops[k].data(), two.ops[k].data(), sizeof(float) * one.ops[k].size()), 0) << k;
            EXPECT_EQ(std::memcmp(one.ops[k].data(), five.ops[k].data(), sizeof(float) * one.ops[k].size()), 0) << k;
        }
    }
}

TEST(Circuits, ProgressAndErrors) {
    const auto w = random_weights(50, 16, 2, 2);
    std::int64_t last = 0, total = 0;
    auto o = circuit_options(scx::CircuitKind::qk, 1);
    o.progress = [&](std::int64_t d, std::int64_t t) {
        last = d;
        total = t;
    };
    (void)scx::run_circuits(w, std::vector<std::int64_t>{1, 2}, o);
    EXPECT_EQ(last, 4);
    EXPECT_EQ(total, 4);
    EXPECT_NE(error_of([&] { (void)scx::run_circuits(w, std::vector<std::int64_t>{1, 50}); })
                  .find("panel gene 1 has vocabulary id 50, outside the model's [0, 50)"),
              std::string::npos);
    EXPECT_NE(error_of([&] { (void)scx::run_circuits(w, std::vector<std::int64_t>{}); }).find("panel is empty"), std::string::npos);
}

} // namespace
