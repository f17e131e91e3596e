// scGPT encoder forward pass against PyTorch 1.13 (tests/fixtures/forward, made by
// tests/fixtures/make_forward_fixtures.py from torch's own nn.TransformerEncoder), against
// a naive double-precision reference for longer cells, and for reproducibility.

#include "scextract/io/npy.hpp"
#include "scextract/model/scgpt_forward.hpp"

#include "../support/error_of.hpp"
#include "../support/fixture_weights.hpp"
#include "../support/forward_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using scx::test::error_of;
using scx::test::StoreAll;
using scx::test::StoredSlice;

fs::path fixture_dir(const std::string& config) { return scx::test::forward_fixture_dir(config); }

scx::ScGptWeights load_weights(const std::string& config) { return scx::test::load_fixture_weights(config); }

std::vector<scx::TokenizedCell> load_cells(const std::string& config) {
    return scx::test::load_forward_cells(fixture_dir(config));
}

bool same_bits(const scx::RowMatrixF& a, const scx::RowMatrixF& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

scx::ScGptForwardOptions all_outputs(int threads, std::int64_t batch, scx::AttentionVisitor* visitor) {
    scx::ScGptForwardOptions o;
    o.threads = threads;
    o.batch_size = batch;
    o.want_hidden = o.want_first = o.want_mean = true;
    o.visitor = visitor;
    return o;
}

void expect_identical(const scx::ScGptForwardResult& a, const scx::ScGptForwardResult& b, const std::string& label) {
    ASSERT_EQ(a.hidden.size(), b.hidden.size()) << label;
    for (std::size_t i = 0; i < a.hidden.size(); ++i) EXPECT_TRUE(same_bits(a.hidden[i], b.hidden[i])) << label << " cell " << i;
    EXPECT_TRUE(same_bits(a.first, b.first)) << label;
    EXPECT_TRUE(same_bits(a.mean, b.mean)) << label;
}

void expect_identical(const std::vector<StoredSlice>& a, const std::vector<StoredSlice>& b, const std::string& label) {
    ASSERT_EQ(a.size(), b.size()) << label;
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].cell, b[i].cell) << label;
        EXPECT_EQ(a[i].layer, b[i].layer) << label;
        EXPECT_EQ(a[i].head, b[i].head) << label;
        EXPECT_TRUE(same_bits(a[i].probs, b[i].probs)) << label << " slice " << i;
    }
}

// ---- against PyTorch ---------------------------------------------------------------

class ForwardFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardFixture, MatchesPyTorch) {
    const auto dir = fixture_dir(GetParam());
    const auto w = load_weights(GetParam());
    const auto cells = load_cells(GetParam());
    StoreAll store;
    const auto r = scx::run_scgpt_forward(w, cells, all_outputs(2, 2, &store));

    const auto gaps = scx::test::torch_gaps(r, store.all(), cells, dir);
    // float64 run of the same PyTorch model: how close both float32 results are to exact.
    const auto hidden64 = scx::read_npy(dir / "hidden_fp64.npy");
    const auto h64 = hidden64.to_double();
    const std::int64_t lmax = hidden64.shape.at(1), d = hidden64.shape.at(2);
    ASSERT_EQ(d, w.config.d_model);
    double err_fp64 = 0;
    for (std::size_t i = 0; i < cells.size(); ++i)
        for (Eigen::Index t = 0; t < r.hidden[i].rows(); ++t)
            for (std::int64_t j = 0; j < d; ++j)
                err_fp64 = std::max(err_fp64, std::abs(r.hidden[i](t, j) - h64[(i * lmax + t) * d + j]));
    std::cout << GetParam() << ": max |ours - torch| hidden " << gaps.hidden << ", first " << gaps.first << ", mean "
              << gaps.mean << ", attention " << gaps.attention << "; vs torch unpadded " << gaps.unpadded
              << "; vs float64 " << err_fp64 << "\n";
    for (double g : {gaps.hidden, gaps.unpadded, gaps.first, gaps.mean, gaps.attention, err_fp64}) {
        EXPECT_GE(g, 0.0);
        EXPECT_LT(g, 1e-4);
    }
    // What we aim for: float32 rounding noise, like torch's own distance from float64.
    EXPECT_LT(gaps.hidden, 2e-5);
    EXPECT_LT(gaps.attention, 2e-5);
}

TEST_P(ForwardFixture, AttentionRowsSumToOne) {
    const auto w = load_weights(GetParam());
    const auto cells = load_cells(GetParam());
    StoreAll store;
    scx::ScGptForwardOptions o;
    o.visitor = &store;
    scx::run_scgpt_forward(w, cells, o);
    for (const auto& s : store.all()) {
        for (std::int64_t q = 0; q < s.length; ++q) {
            double sum = 0;
            for (std::int64_t k = 0; k < s.length; ++k) {
                EXPECT_GE(s.probs[q * s.length + k], 0.0F);
                sum += s.probs[q * s.length + k];
            }
            EXPECT_NEAR(sum, 1.0, 1e-6);
        }
    }
}

TEST_P(ForwardFixture, BitIdenticalAcrossThreadsAndBatchSizes) {
    const auto w = load_weights(GetParam());
    const auto cells = load_cells(GetParam());
    StoreAll ref_store;
    const auto ref = scx::run_scgpt_forward(w, cells, all_outputs(1, 1, &ref_store));
    for (int threads : {1, 2}) {
        for (std::int64_t batch : {1, 2, 3, 64}) {
            const std::string label = "threads " + std::to_string(threads) + " batch " + std::to_string(batch);
            StoreAll store;
            const auto r = scx::run_scgpt_forward(w, cells, all_outputs(threads, batch, &store));
            expect_identical(ref, r, label);
            expect_identical(ref_store.all(), store.all(), label);
        }
    }
}

TEST_P(ForwardFixture, PaddedBatchEqualsSingleCells) {
    const auto w = load_weights(GetParam());
    const auto cells = load_cells(GetParam());
    const auto batch = scx::run_scgpt_forward(w, cells, all_outputs(2, 5, nullptr));
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto one = scx::run_scgpt_forward(w, {cells[i]}, all_outputs(1, 1, nullptr));
        ASSERT_EQ(one.hidden.size(), 1U);
        EXPECT_TRUE(same_bits(one.hidden[0], batch.hidden[i])) << "cell " << i;
        EXPECT_TRUE(same_bits(one.first, batch.first.row(i))) << "cell " << i;
        EXPECT_TRUE(same_bits(one.mean, batch.mean.row(i))) << "cell " << i;
    }
}

TEST_P(ForwardFixture, VisitorSeesEveryCellLayerHeadInOrder) {
    const auto w = load_weights(GetParam());
    const auto cells = load_cells(GetParam());
    const std::int64_t batch = 2;
    StoreAll store;
    scx::ScGptForwardOptions o;
    o.threads = 2;
    o.batch_size = batch;
    o.visitor = &store;
    const auto r = scx::run_scgpt_forward(w, cells, o);
    const auto n = static_cast<std::int64_t>(cells.size());
    EXPECT_EQ(store.begin_calls, 1);
    EXPECT_EQ(store.begun_cells, n);
    ASSERT_EQ(static_cast<std::int64_t>(store.per_chunk.size()), (n + batch - 1) / batch);
    std::int64_t expected_cell = 0;
    for (std::size_t c = 0; c < store.per_chunk.size(); ++c) {
        const auto& slices = store.per_chunk[c];
        std::size_t k = 0;
        for (std::int64_t cell = c * batch; cell < std::min(n, static_cast<std::int64_t>(c + 1) * batch); ++cell) {
            EXPECT_EQ(cell, expected_cell++);
            for (std::int64_t l = 0; l < w.config.n_layers; ++l) {
                for (std::int64_t h = 0; h < w.config.n_heads; ++h, ++k) {
                    ASSERT_LT(k, slices.size());
                    EXPECT_EQ(slices[k].chunk, static_cast<std::int64_t>(c));
                    EXPECT_EQ(slices[k].cell, cell);
                    EXPECT_EQ(slices[k].layer, l);
                    EXPECT_EQ(slices[k].head, h);
                    EXPECT_EQ(slices[k].length, static_cast<std::int64_t>(cells[cell].gene_ids.size()));
                }
            }
        }
        EXPECT_EQ(k, slices.size());
    }
    EXPECT_EQ(expected_cell, n);
    // Only what was asked for is kept.
    EXPECT_TRUE(r.hidden.empty());
    EXPECT_EQ(r.first.size(), 0);
    EXPECT_EQ(r.mean.rows(), n);
    EXPECT_EQ(r.n_layers_run, w.config.n_layers);
}

TEST_P(ForwardFixture, FirstLayersOnly) {
    const auto w = load_weights(GetParam());
    const auto cells = load_cells(GetParam());
    StoreAll full_store, one_store;
    const auto full = scx::run_scgpt_forward(w, cells, all_outputs(1, 8, &full_store));
    auto o = all_outputs(1, 8, &one_store);
    o.n_layers = 1;
    const auto one = scx::run_scgpt_forward(w, cells, o);
    EXPECT_EQ(one.n_layers_run, 1);
    std::vector<StoredSlice> layer0;
    for (const auto& s : full_store.all())
        if (s.layer == 0) layer0.push_back(s);
    expect_identical(layer0, one_store.all(), "layer 0");
    EXPECT_FALSE(same_bits(one.mean, full.mean));
    o.n_layers = 0; // the embedding h0 = g + v
    o.visitor = nullptr;
    const auto h0 = scx::run_scgpt_forward(w, cells, o);
    EXPECT_EQ(h0.n_layers_run, 0);
    o.n_layers = w.config.n_layers + 1;
    EXPECT_NE(error_of([&] { scx::run_scgpt_forward(w, cells, o); }).find("layers requested"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Configs, ForwardFixture, ::testing::Values("d16_h4", "d32_h8"));

// ---- a naive double-precision reference, for longer cells ----------------------------

using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

MatD layer_norm_rows(const MatD& x, const scx::VectorF& w, const scx::VectorF& b) {
    MatD out(x.rows(), x.cols());
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
        const double mean = x.row(t).mean();
        const double var = (x.row(t).array() - mean).square().mean();
        for (Eigen::Index j = 0; j < x.cols(); ++j)
            out(t, j) = (x(t, j) - mean) / std::sqrt(var + 1e-5) * w[j] + b[j];
    }
    return out;
}

MatD linear(const MatD& x, const scx::RowMatrixF& W, const scx::VectorF& b) {
    MatD y = x * W.cast<double>().transpose();
    y.rowwise() += b.cast<double>().transpose();
    return y;
}

/// Final states and every attention map ([layer][head] L x L) of one cell.
MatD reference_forward(const scx::ScGptWeights& w, const scx::TokenizedCell& cell, std::vector<MatD>* attention) {
    const auto len = static_cast<Eigen::Index>(cell.gene_ids.size());
    const Eigen::Index d = w.config.d_model, H = w.config.n_heads, dh = d / H;
    MatD g(len, d), v1(len, d);
    for (Eigen::Index t = 0; t < len; ++t) {
        g.row(t) = w.gene_embedding.row(cell.gene_ids[t]).cast<double>();
        const double v = std::min(cell.values[t], 512.0F);
        for (Eigen::Index j = 0; j < d; ++j) v1(t, j) = std::max(0.0, v * w.value_W1(j, 0) + w.value_b1[j]);
    }
    MatD x = layer_norm_rows(g, w.enc_norm_w, w.enc_norm_b) +
             layer_norm_rows(linear(v1, w.value_W2, w.value_b2), w.value_norm_w, w.value_norm_b);
    for (const auto& L : w.layers) {
        const MatD qkv = linear(x, L.Wqkv, L.bqkv);
        MatD o(len, d);
        for (Eigen::Index h = 0; h < H; ++h) {
            const MatD q = qkv.middleCols(h * dh, dh), k = qkv.middleCols(d + h * dh, dh),
                       vv = qkv.middleCols(2 * d + h * dh, dh);
            MatD s = q * k.transpose() / std::sqrt(static_cast<double>(dh));
            for (Eigen::Index r = 0; r < len; ++r) {
                s.row(r).array() = (s.row(r).array() - s.row(r).maxCoeff()).exp();
                s.row(r) /= s.row(r).sum();
            }
            if (attention) attention->push_back(s);
            o.middleCols(h * dh, dh) = s * vv;
        }
        x = layer_norm_rows(x + linear(o, L.Wo, L.bo), L.norm1_w, L.norm1_b);
        MatD f = linear(x, L.W1, L.b1).cwiseMax(0.0);
        x = layer_norm_rows(x + linear(f, L.W2, L.b2), L.norm2_w, L.norm2_b);
    }
    return x;
}

scx::ScGptWeights random_weights(std::int64_t vocab, std::int64_t d, std::int64_t heads, std::int64_t d_hid,
                                 std::int64_t layers, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    auto m = [&](std::int64_t r, std::int64_t c, float sd) {
        scx::RowMatrixF x(r, c);
        for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = sd * normal(rng);
        return x;
    };
    auto v = [&](std::int64_t n, float base, float sd) {
        scx::VectorF x(n);
        for (Eigen::Index i = 0; i < n; ++i) x[i] = base + sd * normal(rng);
        return x;
    };
    scx::ScGptWeights w;
    w.config.n_layers = layers;
    w.config.n_heads = heads;
    w.config.d_model = d;
    w.config.d_hid = d_hid;
    const float sd = std::sqrt(1.5F / static_cast<float>(d));
    w.gene_embedding = m(vocab, d, 1.0F);
    w.enc_norm_w = v(d, 1.0F, 0.2F);
    w.enc_norm_b = v(d, 0.0F, 0.2F);
    w.value_W1 = m(d, 1, 1.0F);
    w.value_b1 = v(d, 0.0F, 0.2F);
    w.value_W2 = m(d, d, sd);
    w.value_b2 = v(d, 0.0F, 0.2F);
    w.value_norm_w = v(d, 1.0F, 0.2F);
    w.value_norm_b = v(d, 0.0F, 0.2F);
    for (std::int64_t l = 0; l < layers; ++l) {
        scx::ScGptLayerWeights L;
        L.Wqkv = m(3 * d, d, 2.0F * sd);
        L.bqkv = v(3 * d, 0.0F, 0.2F);
        L.Wo = m(d, d, sd);
        L.bo = v(d, 0.0F, 0.2F);
        L.W1 = m(d_hid, d, sd);
        L.b1 = v(d_hid, 0.0F, 0.2F);
        L.W2 = m(d, d_hid, std::sqrt(1.5F / static_cast<float>(d_hid)));
        L.b2 = v(d, 0.0F, 0.2F);
        L.norm1_w = v(d, 1.0F, 0.2F);
        L.norm1_b = v(d, 0.0F, 0.2F);
        L.norm2_w = v(d, 1.0F, 0.2F);
        L.norm2_b = v(d, 0.0F, 0.2F);
        w.layers.push_back(std::move(L));
    }
    return w;
}

std::vector<scx::TokenizedCell> random_cells(const std::vector<std::int64_t>& lengths, std::int64_t vocab, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::int64_t> id(0, vocab - 1);
    std::uniform_real_distribution<float> value(0.0F, 6.0F);
    std::vector<scx::TokenizedCell> cells(lengths.size());
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        for (std::int64_t t = 0; t < lengths[i]; ++t) {
            cells[i].gene_ids.push_back(id(rng));
            cells[i].values.push_back(value(rng));
        }
    }
    return cells;
}

TEST(ScGptForward, LongerCellsMatchDoubleReference) {
    const auto w = random_weights(300, 48, 6, 96, 2, 7);
    const auto cells = random_cells({1, 2, 9, 64, 157, 250}, 300, 11);
    StoreAll store;
    const auto r = scx::run_scgpt_forward(w, cells, all_outputs(2, 2, &store));
    const auto slices = store.all();
    std::size_t k = 0;
    double err_hidden = 0, err_att = 0, err_mean = 0;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        std::vector<MatD> att;
        const MatD ref = reference_forward(w, cells[i], &att);
        err_hidden = std::max(err_hidden, (r.hidden[i].cast<double>() - ref).cwiseAbs().maxCoeff());
        err_mean = std::max(err_mean, (r.mean.row(i).cast<double>() - ref.colwise().mean()).cwiseAbs().maxCoeff());
        for (const auto& a : att) {
            ASSERT_LT(k, slices.size());
            const auto len = slices[k].length;
            const Eigen::Map<const scx::RowMatrixF> mine(slices[k].probs.data(), len, len);
            err_att = std::max(err_att, (mine.cast<double>() - a).cwiseAbs().maxCoeff());
            ++k;
        }
    }
    EXPECT_EQ(k, slices.size());
    std::cout << "random d48: max |ours - float64| hidden " << err_hidden << ", mean " << err_mean << ", attention "
              << err_att << "\n";
    EXPECT_LT(err_hidden, 5e-5);
    EXPECT_LT(err_mean, 5e-5);
    EXPECT_LT(err_att, 2e-5);

    const auto r1 = scx::run_scgpt_forward(w, cells, all_outputs(1, 1, nullptr));
    expect_identical(r, r1, "threads 2 batch 2 vs threads 1 batch 1");
}

TEST(ScGptForward, ValuesClampedFromAboveOnly) {
    const auto w = random_weights(20, 16, 4, 32, 1, 3);
    auto cells = random_cells({6}, 20, 5);
    auto run = [&](float v) {
        auto c = cells;
        c[0].values[2] = v;
        return scx::run_scgpt_forward(w, c, all_outputs(1, 1, nullptr)).hidden[0];
    };
    const auto at_max = run(512.0F);
    EXPECT_TRUE(same_bits(at_max, run(600.0F)));
    EXPECT_TRUE(same_bits(at_max, run(1e30F)));
    EXPECT_TRUE(same_bits(at_max, run(std::numeric_limits<float>::infinity())));
    EXPECT_FALSE(same_bits(at_max, run(511.0F)));
    EXPECT_FALSE(same_bits(run(-2.0F), run(-3.0F))); // no lower clamp
}

TEST(ScGptForward, EmptyInput) {
    const auto w = random_weights(20, 16, 4, 32, 1, 3);
    StoreAll store;
    const auto r = scx::run_scgpt_forward(w, {}, all_outputs(2, 4, &store));
    EXPECT_TRUE(r.hidden.empty());
    EXPECT_EQ(r.first.rows(), 0);
    EXPECT_EQ(r.mean.rows(), 0);
    EXPECT_EQ(r.mean.cols(), 16);
    EXPECT_EQ(store.begin_calls, 1);
    EXPECT_TRUE(store.all().empty());
}

TEST(ScGptForward, CallbackVisitor) {
    const auto w = random_weights(20, 16, 4, 32, 2, 3);
    const auto cells = random_cells({3, 5, 4}, 20, 9);
    std::vector<std::int64_t> counts(3, 0);
    scx::AttentionCallback cb([&](const scx::AttentionSlice& s) { ++counts[s.chunk]; }); // one chunk per cell
    scx::ScGptForwardOptions o;
    o.threads = 2;
    o.batch_size = 1;
    o.visitor = &cb;
    scx::run_scgpt_forward(w, cells, o);
    EXPECT_EQ(counts, (std::vector<std::int64_t>{8, 8, 8}));
}

TEST(ScGptForward, Errors) {
    const auto w = random_weights(20, 16, 4, 32, 1, 3);
    const scx::ScGptForwardOptions o;
    auto err = [&](std::vector<scx::TokenizedCell> cells) {
        return error_of([&] { scx::run_scgpt_forward(w, cells, o); });
    };
    EXPECT_EQ(err({{{1, 2}, {0.5F, 1.0F}}, {{}, {}}}), "cell 1: no tokens");
    EXPECT_EQ(err({{{1, 2}, {0.5F}}}), "cell 0: 2 gene ids but 1 values");
    EXPECT_EQ(err({{{1, 20}, {0.5F, 1.0F}}}), "cell 0, token 1: gene id 20 is outside the vocabulary [0, 20)");
    EXPECT_EQ(err({{{-1}, {0.5F}}}), "cell 0, token 0: gene id -1 is outside the vocabulary [0, 20)");
    EXPECT_EQ(err({{{1, 2}, {0.5F, std::nanf("")}}}), "cell 0, token 1: value is nan");
    EXPECT_EQ(err({{{1}, {-std::numeric_limits<float>::infinity()}}}), "cell 0, token 0: value is -inf");

    const std::vector<scx::TokenizedCell> ok{{{1, 2}, {0.5F, 1.0F}}};
    auto bad = w;
    bad.layers[0].Wqkv.resize(47, 16);
    EXPECT_EQ(error_of([&] { scx::run_scgpt_forward(bad, ok, o); }),
              "scGPT weights: transformer_encoder.layers.0.self_attn.Wqkv.weight is 47 x 16, expected 48 x 16");
    bad = w;
    bad.config.n_layers = 2;
    EXPECT_EQ(error_of([&] { scx::run_scgpt_forward(bad, ok, o); }), "scGPT weights: 1 layers but the config says 2");
    bad = w;
    bad.config.n_heads = 3;
    EXPECT_NE(error_of([&] { scx::run_scgpt_forward(bad, ok, o); }).find("n_heads must divide d_model"), std::string::npos);
    bad = w;
    bad.value_norm_b.resize(15);
    EXPECT_EQ(error_of([&] { scx::run_scgpt_forward(bad, ok, o); }),
              "scGPT weights: value_encoder.norm.bias has 15 entries, expected 16");
    auto o2 = o;
    o2.batch_size = 0;
    EXPECT_EQ(error_of([&] { scx::run_scgpt_forward(w, ok, o2); }), "scGPT forward: batch_size is 0, must be >= 1");
}

} // namespace
