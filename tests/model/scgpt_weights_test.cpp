// scgpt_weights_from_tensors(): a tiny scGPT (2 layers, embsize 8, 2 heads, d_hid 16,
// vocabulary 20) built as TensorMaps in C++, in both attention namings, with a
// 'module.' prefix, in fp16, and with every defect the loader must name.

#include "scextract/model/scgpt_weights.hpp"

#include "../support/error_of.hpp"
#include "../support/tiny_scgpt.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

using scx::Tensor;
using scx::TensorDType;
using scx::TensorMap;
using scx::test::error_of;
using scx::test::kD;
using scx::test::kHid;
using scx::test::kLayers;
using scx::test::kVocab;
using scx::test::make;
using scx::test::Options;
using scx::test::tiny_config;
using scx::test::tiny_tensors;
using scx::test::value_of;

Tensor* find(TensorMap& m, const std::string& name) {
    for (auto& [n, t] : m)
        if (n == name) return &t;
    return nullptr;
}

void remove_key(TensorMap& m, const std::string& name) {
    std::erase_if(m, [&](const auto& kv) { return kv.first == name; });
}

/// The index tiny_tensors() gave @p name (its values are index + (i mod 32)/32).
int index_of(const std::string& name, const Options& o = {}) {
    const auto m = tiny_tensors(o);
    for (std::size_t i = 0; i < m.size(); ++i)
        if (m[i].first == o.prefix + name) return static_cast<int>(i);
    return -1;
}

void expect_values(const Eigen::Ref<const scx::RowMatrixF>& got, int k, const std::string& what) {
    for (Eigen::Index r = 0; r < got.rows(); ++r)
        for (Eigen::Index c = 0; c < got.cols(); ++c)
            ASSERT_EQ(got(r, c), value_of(k, r * got.cols() + c)) << what << " (" << r << ", " << c << ")";
}

void expect_vector(const scx::VectorF& got, int k, const std::string& what) {
    for (Eigen::Index i = 0; i < got.size(); ++i) ASSERT_EQ(got(i), value_of(k, i)) << what << " [" << i << "]";
}

scx::ScGptWeights load(const TensorMap& m, scx::ScGptWeightsReport* rep = nullptr, std::int64_t vocab = kVocab) {
    return scx::scgpt_weights_from_tensors(m, tiny_config(), vocab, "ckpt", rep);
}

void expect_all_weights(const scx::ScGptWeights& w, const Options& o) {
    expect_values(w.gene_embedding, index_of("encoder.embedding.weight", o), "embedding");
    expect_vector(w.enc_norm_w, index_of("encoder.enc_norm.weight", o), "enc_norm.weight");
    expect_vector(w.enc_norm_b, index_of("encoder.enc_norm.bias", o), "enc_norm.bias");
    expect_values(w.value_W1, index_of("value_encoder.linear1.weight", o), "value W1");
    expect_vector(w.value_b1, index_of("value_encoder.linear1.bias", o), "value b1");
    expect_values(w.value_W2, index_of("value_encoder.linear2.weight", o), "value W2");
    expect_vector(w.value_b2, index_of("value_encoder.linear2.bias", o), "value b2");
    expect_vector(w.value_norm_w, index_of("value_encoder.norm.weight", o), "value norm w");
    expect_vector(w.value_norm_b, index_of("value_encoder.norm.bias", o), "value norm b");
    ASSERT_EQ(w.layers.size(), static_cast<std::size_t>(kLayers));
    for (int l = 0; l < kLayers; ++l) {
        const auto p = std::string("transformer_encoder.layers.") + std::to_string(l) + ".";
        const auto& L = w.layers[l];
        expect_values(L.Wqkv, index_of(p + (o.in_proj ? "self_attn.in_proj_weight" : "self_attn.Wqkv.weight"), o),
                      p + "Wqkv");
        expect_vector(L.bqkv, index_of(p + (o.in_proj ? "self_attn.in_proj_bias" : "self_attn.Wqkv.bias"), o),
                      p + "bqkv");
        expect_values(L.Wo, index_of(p + "self_attn.out_proj.weight", o), p + "Wo");
        expect_vector(L.bo, index_of(p + "self_attn.out_proj.bias", o), p + "bo");
        expect_values(L.W1, index_of(p + "linear1.weight", o), p + "W1");
        expect_vector(L.b1, index_of(p + "linear1.bias", o), p + "b1");
        expect_values(L.W2, index_of(p + "linear2.weight", o), p + "W2");
        expect_vector(L.b2, index_of(p + "linear2.bias", o), p + "b2");
        expect_vector(L.norm1_w, index_of(p + "norm1.weight", o), p + "norm1.weight");
        expect_vector(L.norm1_b, index_of(p + "norm1.bias", o), p + "norm1.bias");
        expect_vector(L.norm2_w, index_of(p + "norm2.weight", o), p + "norm2.weight");
        expect_vector(L.norm2_b, index_of(p + "norm2.bias", o), p + "norm2.bias");
    }
}

constexpr std::int64_t kEncoderParams =
    kVocab * kD + 2 * kD + kD + kD + kD * kD + kD + 2 * kD +
    kLayers * (3 * kD * kD + 3 * kD + kD * kD + kD + kHid * kD + kHid + kD * kHid + kD + 4 * kD);

TEST(ScGptWeights, LoadsFlashAttentionNaming) {
    scx::ScGptWeightsReport rep;
    const auto w = load(tiny_tensors(), &rep);
    expect_all_weights(w, {});
    EXPECT_EQ(w.layers[0].Wqkv.rows(), 3 * kD);
    EXPECT_EQ(w.gene_embedding.rows(), kVocab);
    EXPECT_EQ(w.value_W1.cols(), 1);
    EXPECT_EQ(w.config.n_layers, kLayers);
    EXPECT_EQ(rep.attention_naming, "Wqkv");
    EXPECT_FALSE(rep.stripped_module_prefix);
    EXPECT_EQ(rep.n_parameters, kEncoderParams);
    EXPECT_EQ(rep.unused_keys, (std::vector<std::string>{"decoder.fc.0.weight", "mvc_decoder.gene2query.weight",
                                                         "cls_decoder._decoder.0.weight"}));
}

TEST(ScGptWeights, LoadsMultiheadAttentionNaming) {
    const auto o = Options::with_in_proj();
    scx::ScGptWeightsReport rep;
    const auto w = load(tiny_tensors(o), &rep);
    expect_all_weights(w, o);
    EXPECT_EQ(rep.attention_naming, "in_proj");
    EXPECT_EQ(rep.n_parameters, kEncoderParams);
}

TEST(ScGptWeights, StripsModulePrefix) {
    const auto o = Options::with_prefix("module.");
    scx::ScGptWeightsReport rep;
    const auto w = load(tiny_tensors(o), &rep);
    expect_all_weights(w, o);
    EXPECT_TRUE(rep.stripped_module_prefix);
    EXPECT_EQ(rep.unused_keys.size(), 3u);
    EXPECT_EQ(rep.unused_keys[0], "decoder.fc.0.weight"); // reported without the prefix
}

TEST(ScGptWeights, RefusesKeysThatCollideOnceThePrefixIsStripped) {
    auto m = tiny_tensors();
    m.emplace_back("module.encoder.enc_norm.bias", make({kD}, 0));
    const auto msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("'encoder.enc_norm.bias' appears twice"), std::string::npos) << msg;
}

TEST(ScGptWeights, ConvertsHalfPrecision) {
    const auto o = Options::with_dtype(TensorDType::float16);
    const auto w = load(tiny_tensors(o));
    expect_all_weights(w, o); // the values are exact in fp16
}

TEST(ScGptWeights, WithoutExtraKeysNothingIsUnused) {
    scx::ScGptWeightsReport rep;
    (void)load(tiny_tensors(Options::without_extras()), &rep);
    EXPECT_TRUE(rep.unused_keys.empty());
}

TEST(ScGptWeights, NamesAMissingKey) {
    for (const std::string key :
         {"encoder.enc_norm.bias", "value_encoder.linear2.weight", "transformer_encoder.layers.1.norm2.bias",
          "transformer_encoder.layers.0.linear1.weight", "transformer_encoder.layers.1.self_attn.Wqkv.bias"}) {
        auto m = tiny_tensors();
        remove_key(m, key);
        const auto msg = error_of([&] { load(m); });
        EXPECT_NE(msg.find("ckpt: missing weight '" + key + "'"), std::string::npos) << msg;
    }
    auto m = tiny_tensors();
    remove_key(m, "transformer_encoder.layers.1.self_attn.Wqkv.weight");
    const auto msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("transformer_encoder.layers.1.self_attn.Wqkv.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("in_proj_weight"), std::string::npos) << msg;
}

TEST(ScGptWeights, NamesAWrongShapeWithExpectedAndFound) {
    auto m = tiny_tensors();
    *find(m, "transformer_encoder.layers.1.linear1.weight") = make({kHid + 1, kD}, 0);
    auto msg = error_of([&] { load(m); });
    EXPECT_NE(
        msg.find("'transformer_encoder.layers.1.linear1.weight' has shape [17, 8] but the config expects [16, 8]"),
        std::string::npos)
        << msg;
    EXPECT_NE(msg.find("d_hid=16"), std::string::npos) << msg;

    m = tiny_tensors();
    *find(m, "value_encoder.linear1.weight") = make({kD}, 0); // [d] instead of [d, 1]
    msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("'value_encoder.linear1.weight' has shape [8] but the config expects [8, 1]"), std::string::npos)
        << msg;

    m = tiny_tensors();
    *find(m, "encoder.embedding.weight") = make({kVocab, kD + 2}, 0); // wrong embsize
    msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("has shape [20, 10] but the config expects [20, 8]"), std::string::npos) << msg;
}

TEST(ScGptWeights, NamesAVocabularyMismatch) {
    const auto msg = error_of([&] { load(tiny_tensors(), nullptr, kVocab + 1); });
    EXPECT_NE(msg.find("'encoder.embedding.weight' has 20 rows but the vocabulary has 21 tokens"), std::string::npos)
        << msg;
}

TEST(ScGptWeights, RefusesNonFiniteWeights) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        auto m = tiny_tensors();
        auto* t = find(m, "transformer_encoder.layers.0.norm1.weight");
        auto bytes = std::make_shared<std::vector<std::byte>>(*t->storage);
        std::memcpy(bytes->data() + 4 * 3, &bad, 4);
        t->storage = bytes;
        const auto msg = error_of([&] { load(m); });
        EXPECT_NE(msg.find(std::string("'transformer_encoder.layers.0.norm1.weight' holds ") +
                           (std::isnan(bad) ? "NaN" : "Inf") + " at flat index 3"),
                  std::string::npos)
            << msg;
    }
}

TEST(ScGptWeights, RefusesIntegerWeights) {
    auto m = tiny_tensors();
    *find(m, "value_encoder.norm.bias") = make({kD}, 0, TensorDType::int64);
    const auto msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("'value_encoder.norm.bias' holds int64 values"), std::string::npos) << msg;
}

TEST(ScGptWeights, LayerCountMustMatchTheConfig) {
    auto m = tiny_tensors();
    // an extra layer 2 beyond nlayers=2
    m.emplace_back("transformer_encoder.layers.2.norm1.weight", make({kD}, 0));
    auto msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("encoder layer 2 but args.json says nlayers=2"), std::string::npos) << msg;

    // only layer 0 present
    m = tiny_tensors();
    std::erase_if(m, [](const auto& kv) { return kv.first.starts_with("transformer_encoder.layers.1."); });
    msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("nlayers=2 but the weights have 1 encoder layers (layer 1 is missing)"), std::string::npos)
        << msg;
}

TEST(ScGptWeights, RefusesBothAttentionNamingsInOneLayer) {
    auto m = tiny_tensors();
    m.emplace_back("transformer_encoder.layers.0.self_attn.in_proj_weight", make({3 * kD, kD}, 0));
    const auto msg = error_of([&] { load(m); });
    EXPECT_NE(msg.find("layer 0 has both"), std::string::npos) << msg;
}

TEST(ScGptWeights, AcceptsStridedViews) {
    // linear2.weight [d, d_hid] stored as the transpose of a [d_hid, d] buffer
    auto m = tiny_tensors();
    auto* t = find(m, "transformer_encoder.layers.0.linear2.weight");
    const int k = index_of("transformer_encoder.layers.0.linear2.weight");
    Tensor view = make({kHid, kD}, 0); // storage laid out as [d_hid, d]
    auto bytes = std::make_shared<std::vector<std::byte>>(view.storage->size());
    for (std::int64_t r = 0; r < kD; ++r)
        for (std::int64_t c = 0; c < kHid; ++c) {
            const float v = value_of(k, r * kHid + c);
            std::memcpy(bytes->data() + 4 * (c * kD + r), &v, 4);
        }
    t->storage = bytes;
    t->strides = {1, kD};
    const auto w = load(m);
    expect_values(w.layers[0].W2, k, "strided W2");
}

TEST(ScGptWeights, RefusesNonContinuousValueEncoders) {
    for (const char* style : {"category", "scaling"}) {
        auto c = tiny_config();
        c.input_emb_style = style;
        const auto msg = error_of([&] { (void)scx::scgpt_weights_from_tensors(tiny_tensors(), c, kVocab, "ckpt"); });
        EXPECT_NE(msg.find(std::string("input_emb_style '") + style + "' is not supported"), std::string::npos) << msg;
    }
}

} // namespace
