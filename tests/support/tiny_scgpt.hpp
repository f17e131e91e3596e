#pragma once
// A tiny scGPT state dict built in C++ (2 layers, embsize 8, 2 heads, d_hid 16, vocabulary 20)
// with the whole-human key names, for tests of the weight and checkpoint loaders.

#include "scextract/core/tensor.hpp"
#include "scextract/model/scgpt_config.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace scx::test {

constexpr std::int64_t kVocab = 20, kD = 8, kHid = 16, kLayers = 2;

inline scx::ScGptConfig tiny_config() {
    scx::ScGptConfig c;
    c.n_layers = kLayers;
    c.n_heads = 2;
    c.d_model = kD;
    c.d_hid = kHid;
    return c;
}

/// Value of element @p i of the tensor numbered @p k: exact in fp16 for k < 64.
inline float value_of(int k, std::int64_t i) {
    return static_cast<float>(k) + static_cast<float>(i % 32) / 32.0f;
}

inline std::uint16_t float_to_half(float f) { // exact for the values used here (normal range, <= 10 mantissa bits)
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    const std::uint32_t sign = (b >> 16) & 0x8000u;
    const std::int32_t exp = static_cast<std::int32_t>((b >> 23) & 0xffu) - 127 + 15;
    const std::uint32_t mant = (b >> 13) & 0x3ffu;
    if ((b & 0x7fffffffu) == 0) return static_cast<std::uint16_t>(sign);
    return static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(exp) << 10) | mant);
}

/// A contiguous tensor of @p shape holding value_of(k, i) in @p dtype (float32, float16 or int64).
inline scx::Tensor make(std::vector<std::int64_t> shape, int k, scx::TensorDType dtype = scx::TensorDType::float32) {
    scx::Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    const auto n = t.numel();
    auto bytes = std::make_shared<std::vector<std::byte>>(static_cast<std::size_t>(n) * scx::tensor_dtype_size(dtype));
    for (std::int64_t i = 0; i < n; ++i) {
        const float v = value_of(k, i);
        if (dtype == scx::TensorDType::float32)
            std::memcpy(bytes->data() + 4 * i, &v, 4);
        else if (dtype == scx::TensorDType::float16) {
            const auto h = float_to_half(v);
            std::memcpy(bytes->data() + 2 * i, &h, 2);
        } else if (dtype == scx::TensorDType::int64) {
            const auto x = static_cast<std::int64_t>(v);
            std::memcpy(bytes->data() + 8 * i, &x, 8);
        }
    }
    t.storage = std::move(bytes);
    return t;
}

struct Options {
    bool in_proj = false;
    std::string prefix;
    scx::TensorDType dtype = scx::TensorDType::float32;
    bool extras = true; // decoder / mvc_decoder / cls_decoder keys, as a pretrained checkpoint has

    static Options with_in_proj() {
        Options o;
        o.in_proj = true;
        return o;
    }
    static Options with_prefix(std::string p) {
        Options o;
        o.prefix = std::move(p);
        return o;
    }
    static Options with_dtype(scx::TensorDType t) {
        Options o;
        o.dtype = t;
        return o;
    }
    static Options without_extras() {
        Options o;
        o.extras = false;
        return o;
    }
};

/// The whole-human key set for the tiny config; tensor k gets values k + (i mod 32)/32.
inline scx::TensorMap tiny_tensors(const Options& o = {}) {
    scx::TensorMap m;
    int k = 0;
    auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
        m.emplace_back(o.prefix + name, make(std::move(shape), k++, o.dtype));
    };
    add("encoder.embedding.weight", {kVocab, kD});
    add("encoder.enc_norm.weight", {kD});
    add("encoder.enc_norm.bias", {kD});
    add("value_encoder.linear1.weight", {kD, 1});
    add("value_encoder.linear1.bias", {kD});
    add("value_encoder.linear2.weight", {kD, kD});
    add("value_encoder.linear2.bias", {kD});
    add("value_encoder.norm.weight", {kD});
    add("value_encoder.norm.bias", {kD});
    for (int l = 0; l < kLayers; ++l) {
        const auto p = std::string("transformer_encoder.layers.") + std::to_string(l) + ".";
        if (o.in_proj) {
            add(p + "self_attn.in_proj_weight", {3 * kD, kD});
            add(p + "self_attn.in_proj_bias", {3 * kD});
        } else {
            add(p + "self_attn.Wqkv.weight", {3 * kD, kD});
            add(p + "self_attn.Wqkv.bias", {3 * kD});
        }
        add(p + "self_attn.out_proj.weight", {kD, kD});
        add(p + "self_attn.out_proj.bias", {kD});
        add(p + "linear1.weight", {kHid, kD});
        add(p + "linear1.bias", {kHid});
        add(p + "linear2.weight", {kD, kHid});
        add(p + "linear2.bias", {kD});
        add(p + "norm1.weight", {kD});
        add(p + "norm1.bias", {kD});
        add(p + "norm2.weight", {kD});
        add(p + "norm2.bias", {kD});
    }
    if (o.extras) {
        add("decoder.fc.0.weight", {kD, kD});
        add("mvc_decoder.gene2query.weight", {kD, kD});
        add("cls_decoder._decoder.0.weight", {kD, kD});
    }
    return m;
}

} // namespace scx::test
