// The MLP probe's loss and gradients against PyTorch (tests/fixtures/mlp/mlp_probe.json from
// tests/fixtures/eval/make_mlp_probe_fixtures.py), and its training on separable data.
#include "scextract/baselines/mlp_probe.hpp"

#include "../support/error_of.hpp"
#include "../support/json_fixture.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace scx {
namespace {

using nlohmann::json;

double max_abs(const RowMatrixF& a, const RowMatrixD& b) {
    EXPECT_EQ(a.rows(), b.rows());
    EXPECT_EQ(a.cols(), b.cols());
    return (a.cast<double>() - b).cwiseAbs().maxCoeff();
}

TEST(MlpProbe, LossAndGradientsMatchPyTorch) {
    const json doc = test::load_json_fixture("mlp/mlp_probe.json");
    const RowMatrixF x = test::json_matrix(doc.at("x")).cast<float>();
    for (const auto& c : doc.at("cases")) {
        const auto kind = c.at("loss").get<std::string>();
        SCOPED_TRACE(kind);
        MlpNetwork net;
        for (std::size_t l = 0; l < c.at("weight").size(); ++l) {
            net.weight.push_back(test::json_matrix(c.at("weight")[l]).cast<float>());
            net.bias.push_back(test::json_vector(c.at("bias")[l]).cast<float>());
        }
        ProbeTargets t;
        if (kind == "regression") {
            t.loss = ProbeLoss::regression;
            t.value = test::json_vector(c.at("target").at("value"));
        } else {
            t.loss = kind == "softmax" ? ProbeLoss::softmax : ProbeLoss::binary;
            t.label = c.at("target").at("label").get<std::vector<std::int64_t>>();
            t.n_classes = c.at("target").at("n_classes").get<std::int64_t>();
        }
        EXPECT_LT(max_abs(net.forward(x), test::json_matrix(c.at("output"))), 1e-5);
        const auto r = mlp_loss_and_gradient(net, x, t);
        EXPECT_NEAR(r.loss, c.at("loss_value").get<double>(), 1e-5);
        for (std::size_t l = 0; l < net.weight.size(); ++l) {
            EXPECT_LT(max_abs(r.gradient.weight[l], test::json_matrix(c.at("grad_weight")[l])), 1e-5) << "layer " << l;
            const RowMatrixF gb = r.gradient.bias[l].transpose();
            EXPECT_LT(max_abs(gb, test::json_vector(c.at("grad_bias")[l]).transpose()), 1e-5) << "layer " << l;
        }
    }
}

TEST(MlpProbe, LearnsEachKindOfTarget) {
    std::mt19937 gen(3);
    std::normal_distribution<float> noise(0.0F, 1.0F);
    const Eigen::Index n = 400, d = 6;
    RowMatrixF x(n, d);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = noise(gen);
    ProbeTargets reg{ProbeLoss::regression, Eigen::VectorXd(n), {}, 0}, cls{ProbeLoss::softmax, {}, {}, 3},
        bin{ProbeLoss::binary, {}, {}, 2};
    for (Eigen::Index i = 0; i < n; ++i) {
        reg.value(i) = 3.0 + 2.0 * x(i, 0) - x(i, 1) * x(i, 1);
        cls.label.push_back(x(i, 2) > 0.5F ? 2 : (x(i, 2) < -0.5F ? 0 : 1));
        bin.label.push_back(x(i, 3) * x(i, 4) > 0.0F ? 1 : 0); // not linearly separable
    }
    MlpProbeOptions o;
    o.hidden = {32, 16};
    o.epochs = 60;
    o.batch_size = 32;
    const auto pr = fit_mlp_probe(x, reg, o).predict(x);
    double sse = 0, sst = 0;
    for (Eigen::Index i = 0; i < n; ++i) sse += std::pow(pr(i, 0) - reg.value(i), 2), sst += std::pow(reg.value(i) - reg.value.mean(), 2);
    EXPECT_GT(1.0 - sse / sst, 0.9);
    const auto pc = fit_mlp_probe(x, cls, o).predict(x);
    const auto pb = fit_mlp_probe(x, bin, o);
    const auto pbp = pb.predict(x);
    Eigen::Index right_c = 0, right_b = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        Eigen::Index arg = 0;
        pc.row(i).maxCoeff(&arg);
        right_c += arg == cls.label[static_cast<std::size_t>(i)];
        right_b += (pbp(i, 0) > 0.5F) == (bin.label[static_cast<std::size_t>(i)] == 1);
        EXPECT_NEAR(pc.row(i).sum(), 1.0F, 1e-5F);
    }
    EXPECT_GT(right_c, 0.9 * n);
    EXPECT_GT(right_b, 0.85 * n); // XOR-like: beyond any linear readout
    // 3 linear layers: 6*32+32 + 32*16+16 + 16*1+1
    EXPECT_EQ(pb.network.parameter_count(), 6 * 32 + 32 + 32 * 16 + 16 + 16 + 1);
    // deterministic: the same seed gives the same weights
    EXPECT_TRUE(fit_mlp_probe(x, bin, o).network.weight[0] == pb.network.weight[0]);

    ProbeTargets bad = cls;
    bad.label[5] = 3;
    EXPECT_NE(test::error_of([&] { (void)fit_mlp_probe(x, bad, o); }).find("label 3 outside 0 .. 2"), std::string::npos);
}

} // namespace
} // namespace scx
