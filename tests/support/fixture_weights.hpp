#pragma once
// The weights of a PyTorch forward fixture (tests/fixtures/forward/<config>/weights, one
// .npy per scGPT state-dict key, made by tests/fixtures/make_forward_fixtures.py) as
// ScGptWeights, read directly without the checkpoint loader.

#include "scextract/io/npy.hpp"
#include "scextract/model/scgpt_weights.hpp"

#include "forward_fixture.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace scx::test {

inline scx::ScGptWeights load_fixture_weights(const std::string& config) {
    const auto dir = forward_fixture_dir(config);
    std::ifstream in(dir / "meta.json");
    const auto meta = nlohmann::json::parse(in);
    const auto wd = dir / "weights";
    const auto mat = [&](const std::string& key) { return scx::read_npy(wd / (key + ".npy")).to_matrix(); };
    const auto vec = [&](const std::string& key) {
        const auto v = scx::read_npy(wd / (key + ".npy")).to_float();
        return scx::VectorF(Eigen::Map<const scx::VectorF>(v.data(), static_cast<Eigen::Index>(v.size())));
    };
    scx::ScGptWeights w;
    w.config.n_layers = meta["n_layers"];
    w.config.n_heads = meta["n_heads"];
    w.config.d_model = meta["d_model"];
    w.config.d_hid = meta["d_hid"];
    w.gene_embedding = mat("encoder.embedding.weight");
    w.enc_norm_w = vec("encoder.enc_norm.weight");
    w.enc_norm_b = vec("encoder.enc_norm.bias");
    w.value_W1 = mat("value_encoder.linear1.weight");
    w.value_b1 = vec("value_encoder.linear1.bias");
    w.value_W2 = mat("value_encoder.linear2.weight");
    w.value_b2 = vec("value_encoder.linear2.bias");
    w.value_norm_w = vec("value_encoder.norm.weight");
    w.value_norm_b = vec("value_encoder.norm.bias");
    for (std::int64_t l = 0; l < w.config.n_layers; ++l) {
        const std::string p = "transformer_encoder.layers." + std::to_string(l) + ".";
        scx::ScGptLayerWeights L;
        L.Wqkv = mat(p + "self_attn.Wqkv.weight");
        L.bqkv = vec(p + "self_attn.Wqkv.bias");
        L.Wo = mat(p + "self_attn.out_proj.weight");
        L.bo = vec(p + "self_attn.out_proj.bias");
        L.W1 = mat(p + "linear1.weight");
        L.b1 = vec(p + "linear1.bias");
        L.W2 = mat(p + "linear2.weight");
        L.b2 = vec(p + "linear2.bias");
        L.norm1_w = vec(p + "norm1.weight");
        L.norm1_b = vec(p + "norm1.bias");
        L.norm2_w = vec(p + "norm2.weight");
        L.norm2_b = vec(p + "norm2.bias");
        w.layers.push_back(std::move(L));
    }
    return w;
}

} // namespace scx::test
