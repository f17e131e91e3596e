// scVI's loss and gradients against scvi-tools 1.4.2 on fixed weights, a fixed batch and the
// recorded dropout mask and reparameterisation noise (tests/fixtures/scvi/scvi_vae.json from
// tests/fixtures/eval/make_scvi_fixtures.py), and training on a small simulated set.
#include "scextract/baselines/scvi_model.hpp"

#include "../support/error_of.hpp"
#include "../support/json_fixture.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

namespace scx {
namespace {

using nlohmann::json;

const json& fixture() {
    static const json j = test::load_json_fixture("scvi/scvi_vae.json");
    return j;
}

RowMatrixF matrix(const json& j) {
    if (j.at(0).is_array()) return test::json_matrix(j).cast<float>();
    return test::json_vector(j).cast<float>().transpose();
}
Eigen::VectorXf vector(const json& j) { return test::json_vector(j).cast<float>(); }

/// Every learnt tensor of ScviParameters by its scvi-tools state_dict name.
struct Tensors {
    std::map<std::string, RowMatrixF ScviParameters::*> matrices;
    std::map<std::string, Eigen::VectorXf ScviParameters::*> vectors;
};

const Tensors& tensors() {
    static const Tensors t = [] {
        const std::string enc = "z_encoder.encoder.fc_layers.Layer 0.", dec = "decoder.px_decoder.fc_layers.Layer 0.";
        Tensors x;
        x.matrices = {{enc + "0.weight", &ScviParameters::encoder_weight},
                      {"z_encoder.mean_encoder.weight", &ScviParameters::mean_weight},
                      {"z_encoder.var_encoder.weight", &ScviParameters::var_weight},
                      {dec + "0.weight", &ScviParameters::decoder_weight},
                      {"decoder.px_scale_decoder.0.weight", &ScviParameters::scale_weight},
                      {"decoder.px_dropout_decoder.weight", &ScviParameters::dropout_weight}};
        x.vectors = {{enc + "0.bias", &ScviParameters::encoder_bias},
                     {enc + "1.weight", &ScviParameters::encoder_bn_weight},
                     {enc + "1.bias", &ScviParameters::encoder_bn_bias},
                     {"z_encoder.mean_encoder.bias", &ScviParameters::mean_bias},
                     {"z_encoder.var_encoder.bias", &ScviParameters::var_bias},
                     {dec + "0.bias", &ScviParameters::decoder_bias},
                     {dec + "1.weight", &ScviParameters::decoder_bn_weight},
                     {dec + "1.bias", &ScviParameters::decoder_bn_bias},
                     {"decoder.px_scale_decoder.0.bias", &ScviParameters::scale_bias},
                     {"decoder.px_dropout_decoder.bias", &ScviParameters::dropout_bias},
                     {"px_r", &ScviParameters::px_r},
                     // running statistics (eval mode), not trained
                     {enc + "1.running_mean", &ScviParameters::encoder_bn_mean},
                     {enc + "1.running_var", &ScviParameters::encoder_bn_var},
                     {dec + "1.running_mean", &ScviParameters::decoder_bn_mean},
                     {dec + "1.running_var", &ScviParameters::decoder_bn_var}};
        return x;
    }();
    return t;
}

bool is_running(const std::string& name) { return name.find("running") != std::string::npos; }

ScviParameters fixture_parameters() {
    ScviParameters s;
    for (const auto& [name, member] : tensors().matrices) s.*member = matrix(fixture().at("parameters").at(name));
    for (const auto& [name, member] : tensors().vectors)
        s.*member = vector(fixture().at(is_running(name) ? "eval_running" : "parameters").at(name));
    return s;
}

/// max |a - b| / max(1, |b|)
double relative_error(const RowMatrixF& a, const RowMatrixF& b) {
    EXPECT_EQ(a.rows(), b.rows());
    EXPECT_EQ(a.cols(), b.cols());
    if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
    return ((a - b).cwiseAbs().array() / b.cwiseAbs().array().max(1.0F)).maxCoeff();
}

TEST(ScviModel, ElboTermsAndGradientsMatchScviTools) {
    const auto& f = fixture();
    const auto p = fixture_parameters();
    const RowMatrixF x = matrix(f.at("x"));
    const ScviNoise noise{matrix(f.at("dropout_mask")), matrix(f.at("eps"))};
    const auto r = scvi_loss_and_gradient(p, x, noise, f.at("kl_weight").get<double>(), 0.1);

    EXPECT_LT(relative_error(r.qz_mean, matrix(f.at("qz_mean"))), 1e-5);
    EXPECT_LT(relative_error(r.qz_var, matrix(f.at("qz_var"))), 1e-5);
    const double rec = relative_error(r.reconstruction.cast<float>().transpose(), matrix(f.at("reconstruction_loss")));
    const double kl = relative_error(r.kl_z.cast<float>().transpose(), matrix(f.at("kl_z")));
    EXPECT_LT(rec, 1e-5);
    EXPECT_LT(kl, 1e-5);
    EXPECT_NEAR(r.loss, f.at("loss").get<double>(), 1e-5 * std::fabs(f.at("loss").get<double>()));
    ::testing::Test::RecordProperty("reconstruction_error", fmt::format("{:.3g}", rec));
    ::testing::Test::RecordProperty("kl_error", fmt::format("{:.3g}", kl));
    double worst = 0.0;
    std::size_t trained = 0;
    const auto check = [&](const std::string& name, const RowMatrixF& ours) {
        const double e = relative_error(ours, matrix(f.at("gradients").at(name)));
        EXPECT_LT(e, 1e-5) << name;
        worst = std::max(worst, e);
        ++trained;
    };
    for (const auto& [name, member] : tensors().matrices) check(name, r.gradient.*member);
    for (const auto& [name, member] : tensors().vectors)
        if (!is_running(name)) check(name, (r.gradient.*member).transpose());
    EXPECT_EQ(trained, f.at("gradients").size()) << "every parameter scvi-tools trains has a gradient here";
    ::testing::Test::RecordProperty("gradient_error", fmt::format("{:.3g}", worst));

    // eval mode: running statistics, no dropout
    EXPECT_LT(relative_error(scvi_latent_mean(p, x), matrix(f.at("eval_qz_mean"))), 1e-5);
}

TEST(ScviModel, TrainingLowersTheLossAndIsDeterministic) {
    std::mt19937 gen(5);
    const Eigen::Index n = 300, g = 30;
    RowMatrixF x(n, g);
    for (Eigen::Index i = 0; i < n; ++i) {
        const int type = static_cast<int>(i % 3);
        for (Eigen::Index j = 0; j < g; ++j) {
            const double mean = (j % 3 == type) ? 8.0 : 1.0;
            x(i, j) = static_cast<float>(std::poisson_distribution<int>(mean)(gen));
        }
        x(i, 0) += 1.0F;
    }
    ScviOptions o;
    o.max_epochs = 40;
    o.batch_size = 64;
    const auto a = train_scvi(x, o);
    EXPECT_EQ(a.epochs, 40);
    EXPECT_EQ(a.training_cells, 270);
    ASSERT_EQ(a.epoch_loss.size(), 40U);
    EXPECT_LT(a.epoch_loss.back(), 0.8 * a.epoch_loss.front());
    const auto b = train_scvi(x, o);
    EXPECT_TRUE(a.parameters.encoder_weight == b.parameters.encoder_weight);
    const RowMatrixF z = scvi_latent_mean(a.parameters, x);
    EXPECT_EQ(z.cols(), 10);
    // the three cell types separate in the latent: nearest centroid recovers them
    Eigen::MatrixXf centroid = Eigen::MatrixXf::Zero(3, 10);
    for (Eigen::Index i = 0; i < n; ++i) centroid.row(i % 3) += z.row(i) / static_cast<float>(n / 3);
    Eigen::Index right = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        Eigen::Index arg = 0;
        (centroid.rowwise() - z.row(i)).rowwise().squaredNorm().minCoeff(&arg);
        right += arg == i % 3;
    }
    EXPECT_GT(right, 0.95 * n);
    // the heuristic: min(round(20000 / 300 * 400), 400) = 400 epochs
    ScviOptions heuristic;
    heuristic.max_epochs = 0;
    heuristic.batch_size = 300;
    RowMatrixF empty = RowMatrixF::Zero(2, g);
    EXPECT_NE(test::error_of([&] { (void)train_scvi(empty, heuristic); }).find("at least 3 needed"), std::string::npos);
}

// scvi-tools' split rules: n_train = ceil(0.9 n), and a last minibatch of 1 or 2 cells moves
// to the validation side (validate_data_split with train_size left at its default).
TEST(ScviModel, TrainingSplitFollowsScviTools) {
    std::mt19937 gen(9);
    const auto cells = [&](Eigen::Index n) {
        RowMatrixF x(n, 6);
        for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(1 + std::poisson_distribution<int>(3.0)(gen));
        return x;
    };
    ScviOptions o;
    o.max_epochs = 1;
    o.batch_size = 64;
    // 74 cells: ceil(66.6) = 67 = 64 + 3, kept; 73 cells: ceil(65.7) = 66 = 64 + 2, 2 cells moved
    EXPECT_EQ(train_scvi(cells(74), o).training_cells, 67);
    EXPECT_EQ(train_scvi(cells(73), o).training_cells, 64);
    EXPECT_EQ(train_scvi(cells(72), o).training_cells, 64); // ceil(64.8) = 65: one cell moved
}

} // namespace
} // namespace scx
