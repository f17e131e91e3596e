// The algorithm file: every feature-block form, the standardiser, adaptor and readouts
// round-trip exactly, and damage or the wrong kind of file is refused with its name.

#include "scextract/core/error.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/scx_container.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <limits>
#include <string>

namespace {

scx::RowMatrixF filled(std::int64_t r, std::int64_t c, float start) {
    scx::RowMatrixF m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = start + 0.25F * static_cast<float>(i);
    return m;
}

scx::Algorithm sample() {
    scx::Algorithm a;
    const std::int64_t g = 4, k = 2;
    a.features.genes = {"CD34", "GATA1", "MPO", "CD3E"};
    a.features.description = "test";
    scx::FeatureBlock dense{"dense", scx::FeatureBlock::Form::dense, filled(g, g, 0), {}, {}, {}};
    scx::FeatureBlock lr{"lr", scx::FeatureBlock::Form::low_rank, {}, filled(g, 1, 1), filled(1, g, 2), {}};
    scx::FeatureBlock sp{"sp", scx::FeatureBlock::Form::sparse_factors, {}, {}, {}, {}};
    sp.factors.push_back({{0, 2}, {0.5F, -1.0F}, {3}, {2.0F}, 1.5F});
    sp.factors.push_back({{1}, {1.0F}, {0, 1}, {0.25F, 0.75F}, 0.5F});
    a.features.blocks = {dense, lr, sp};
    const auto d = a.features.n_features();
    a.feature_mean = Eigen::VectorXf::LinSpaced(d, -1, 1);
    a.feature_sd = Eigen::VectorXf::Constant(d, 2.0F);
    a.adaptor_W = filled(k, d, -3);
    a.adaptor_b = Eigen::VectorXf::LinSpaced(d, 0, 1);
    a.adaptor_beta = 1.25;
    a.readouts.push_back({"depth", "regression", filled(1, k, 0), Eigen::VectorXf::Constant(1, 0.5F), {}});
    a.readouts.push_back({"branch", "softmax", filled(3, k, 1), Eigen::VectorXf::Constant(3, -0.5F), {"a", "b", "c"}});
    a.readouts.push_back({"cd4_cd8", "binary", filled(1, k, 2), Eigen::VectorXf::Constant(1, 0.1F), {"CD4 T", "CD8 T"}});
    a.ruler_json = R"({"name":"r"})";
    a.provenance_json = R"({"seed":42})";
    return a;
}

TEST(AlgorithmFile, RoundTripsExactly) {
    scx::test::TempDir dir;
    const auto path = (dir.path() / "a.scx").string();
    const auto a = sample();
    scx::write_algorithm_file(a, path);
    const auto b = scx::read_algorithm_file(path);
    EXPECT_EQ(b.features.genes, a.features.genes);
    ASSERT_EQ(b.features.blocks.size(), 3U);
    EXPECT_EQ(b.features.blocks[0].dense, a.features.blocks[0].dense);
    EXPECT_EQ(b.features.blocks[1].left, a.features.blocks[1].left);
    EXPECT_EQ(b.features.blocks[1].right, a.features.blocks[1].right);
    ASSERT_EQ(b.features.blocks[2].factors.size(), 2U);
    EXPECT_EQ(b.features.blocks[2].factors[1].write_genes, a.features.blocks[2].factors[1].write_genes);
    EXPECT_EQ(b.features.blocks[2].factors[0].read_weights, a.features.blocks[2].factors[0].read_weights);
    EXPECT_EQ(b.features.blocks[2].factors[0].scale, 1.5F);
    EXPECT_EQ(b.feature_mean, a.feature_mean);
    EXPECT_EQ(b.feature_sd, a.feature_sd);
    EXPECT_EQ(b.adaptor_W, a.adaptor_W);
    EXPECT_EQ(b.adaptor_b, a.adaptor_b);
    EXPECT_EQ(b.adaptor_beta, 1.25);
    ASSERT_EQ(b.readouts.size(), 3U);
    EXPECT_EQ(b.readouts[1].classes, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(b.readouts[2].W, a.readouts[2].W);
    EXPECT_EQ(b.readout("depth")->b(0), 0.5F);
    // the same features from both
    const scx::RowMatrixF x = filled(3, 4, -1);
    EXPECT_EQ(a.features.apply(x), b.features.apply(x));
}

TEST(AlgorithmFile, OodBoundsRoundTripAndOlderFilesReadWithout) {
    // issue 19: the training bounds of apply's out-of-distribution flag
    scx::test::TempDir dir;
    auto a = sample();
    const auto without = (dir.path() / "without.scx").string();
    scx::write_algorithm_file(a, without); // no bounds: the "ood" key is left out, as in older files
    EXPECT_FALSE(scx::ScxContainer(without).metadata().contains("ood"));
    const auto old = scx::read_algorithm_file(without);
    EXPECT_FALSE(old.ood.available());
    EXPECT_FALSE(old.ood.out_of_distribution(1e9, 0.0)); // unavailable flags nothing

    a.ood = {1.5, 0.25, 0.75, 321};
    const auto with = (dir.path() / "with.scx").string();
    scx::write_algorithm_file(a, with);
    const auto b = scx::read_algorithm_file(with);
    ASSERT_TRUE(b.ood.available());
    EXPECT_EQ(b.ood.reconstruction_error_p99, 1.5);
    EXPECT_EQ(b.ood.detected_fraction_p1, 0.25);
    EXPECT_EQ(b.ood.reconstruction_error_mean, 0.75);
    EXPECT_EQ(b.ood.training_cells, 321);
    EXPECT_FALSE(b.ood.out_of_distribution(1.5, 0.25)); // at the bounds: in
    EXPECT_TRUE(b.ood.out_of_distribution(1.6, 0.5));   // error above the p99
    EXPECT_TRUE(b.ood.out_of_distribution(0.1, 0.2));   // too few panel genes detected
    EXPECT_TRUE(b.ood.out_of_distribution(std::nan(""), 0.5));
}

TEST(AlgorithmFile, RefusesDamageAndOtherKinds) {
    scx::test::TempDir dir;
    const auto path = (dir.path() / "a.scx").string();
    scx::write_algorithm_file(sample(), path);
    { // flip the last byte (inside the last array)
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(-1, std::ios::end);
        char c = 0;
        f.read(&c, 1);
        f.seekp(-1, std::ios::end);
        c = static_cast<char>(c ^ 0x5A);
        f.write(&c, 1);
    }
    try {
        (void)scx::read_algorithm_file(path);
        ADD_FAILURE() << "expected a checksum error";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    const auto other = (dir.path() / "o.scxop").string();
    scx::write_scx_container(other, "operator", nlohmann::ordered_json::object(), {});
    EXPECT_THROW((void)scx::read_algorithm_file(other), scx::Error);
    auto bad = sample();
    bad.adaptor_b.resize(3);
    EXPECT_THROW(scx::write_algorithm_file(bad, (dir.path() / "bad.scx").string()), scx::Error);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "bad.scx"));
}

} // namespace

namespace {

/// A copy of the container at @p from with @p edit applied to its metadata and arrays, written
/// through the container writer so every checksum is right and only the values are wrong.
void rewrite(const std::string& from, const std::string& to,
             const std::function<void(nlohmann::ordered_json&, std::map<std::string, std::vector<float>>&)>& edit) {
    const scx::ScxContainer c(from);
    auto meta = c.metadata();
    std::map<std::string, std::vector<float>> f32;
    std::map<std::string, std::vector<std::byte>> other;
    for (const auto& a : c.arrays()) {
        if (a.dtype == scx::ContainerDType::float32) {
            const auto v = c.array_f32(a.name);
            f32[a.name].assign(v.begin(), v.end());
        } else {
            const auto b = c.bytes(a.name);
            other[a.name].assign(b.begin(), b.end());
        }
    }
    edit(meta, f32);
    std::vector<scx::ContainerArrayView> views;
    for (const auto& a : c.arrays()) {
        if (a.dtype == scx::ContainerDType::float32) {
            views.push_back(scx::ContainerArrayView::f32(a.name, a.shape, f32.at(a.name)));
        } else {
            scx::ContainerArrayView v{a.name, a.dtype, a.shape, {}};
            v.pieces.push_back(std::span<const std::byte>(other.at(a.name)));
            views.push_back(std::move(v));
        }
    }
    scx::write_scx_container(to, c.kind(), meta, views);
}

} // namespace

TEST(AlgorithmFile, RefusesCorrectlyChecksummedFilesWithValuesApplyCannotUse) {
    // made by rewriting a good file through the container writer, so the checksums are
    // right and only the values are wrong (issue 23: NaN or zero sd gave all-NaN latents,
    // an unknown readout kind silently dropped its output)
    scx::test::TempDir dir;
    const auto good = (dir.path() / "good.scx").string();
    scx::write_algorithm_file(sample(), good);
    using Meta = nlohmann::ordered_json;
    using Arrays = std::map<std::string, std::vector<float>>;
    const auto refused = [&](const std::function<void(Meta&, Arrays&)>& edit, const std::string& fragment) {
        const auto path = (dir.path() / "bad.scx").string();
        rewrite(good, path, edit);
        try {
            (void)scx::read_algorithm_file(path);
            ADD_FAILURE() << "accepted: " << fragment;
        } catch (const scx::Error& e) {
            const std::string msg = e.what();
            EXPECT_EQ(msg.rfind(path + ": ", 0), 0U) << msg;
            EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
        }
    };
    refused([](Meta&, Arrays& a) { a.at("feature_sd")[3] = 0; }, "feature_sd[3] is 0");
    refused([](Meta&, Arrays& a) { a.at("feature_sd")[1] = std::nanf(""); }, "feature_sd holds a non-finite value");
    refused([](Meta&, Arrays& a) { a.at("adaptor_W")[7] = std::numeric_limits<float>::infinity(); },
            "adaptor_W holds a non-finite value");
    refused([](Meta&, Arrays& a) { a.at("block0.dense")[0] = std::nanf(""); }, "block 'dense' holds a non-finite value");
    refused([](Meta&, Arrays& a) { a.at("readout1.b")[0] = std::nanf(""); }, "readout 'branch' b holds a non-finite value");
    refused([](Meta& m, Arrays&) { m["readouts"][0]["kind"] = "ordinal"; }, "readout 'depth' is of unknown kind 'ordinal'");
    refused([](Meta& m, Arrays&) { m["readouts"][1]["classes"].erase(2); }, "softmax readout 'branch' has 3 rows for 2 classes");
    refused([](Meta& m, Arrays&) { m["panel"][2] = "CD34"; }, "panel gene 'CD34' appears twice");
    refused([](Meta& m, Arrays&) { m["readouts"][1]["classes"][1] = "a"; }, "readout 'branch' names class 'a' twice");
}

TEST(AlgorithmFile, WriterRefusesWhatTheReaderRefusesAndLeavesNothing) {
    // issue 23, item 2: nothing can write a file the reader would refuse
    scx::test::TempDir dir;
    const auto path = (dir.path() / "bad.scx").string();
    const auto refused = [&](scx::Algorithm a, const std::string& fragment) {
        try {
            scx::write_algorithm_file(a, path);
            ADD_FAILURE() << "written: " << fragment;
        } catch (const scx::Error& e) {
            const std::string msg = e.what();
            EXPECT_EQ(msg.rfind(path + ": ", 0), 0U) << msg;
            EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
        }
        EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << fragment;
    };
    auto a = sample();
    a.feature_sd(3) = 0;
    refused(a, "feature_sd[3] is 0");
    a = sample();
    a.feature_sd(1) = std::nanf("");
    refused(a, "feature_sd holds a non-finite value");
    a = sample();
    a.adaptor_W(1, 2) = std::numeric_limits<float>::infinity();
    refused(a, "adaptor_W holds a non-finite value");
    a = sample();
    a.features.blocks[0].dense(0, 0) = std::nanf("");
    refused(a, "block 'dense' holds a non-finite value");
    a = sample();
    a.readouts[0].kind = "ordinal";
    refused(a, "readout 'depth' is of unknown kind 'ordinal'");
    a = sample();
    a.readouts[1].classes.pop_back();
    refused(a, "softmax readout 'branch' has 3 rows for 2 classes");
    a = sample();
    a.readouts[1].classes[1] = "a";
    refused(a, "readout 'branch' names class 'a' twice");
    a = sample();
    a.features.genes[2] = "CD34";
    refused(a, "panel gene 'CD34' appears twice");
    a = sample();
    a.features.blocks[2].factors[0].read_genes[1] = 9;
    refused(a, "");
    a = sample();
    a.ood = {.reconstruction_error_p99 = std::nan(""), .detected_fraction_p1 = 0.5, .reconstruction_error_mean = 1, .training_cells = 10};
    if (a.ood.available()) refused(a, "out-of-distribution bounds");
}
