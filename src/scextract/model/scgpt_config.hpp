#pragma once
/// @file scgpt_config.hpp
/// @brief scGPT hyper-parameters from a checkpoint's args.json.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace scx {

/// The hyper-parameters the forward pass and tokenizers need. Names follow
/// args.json (nlayers, nheads, embsize, d_hid, ...).
struct ScGptConfig {
    std::int64_t n_layers = 12;
    std::int64_t n_heads = 8;
    std::int64_t d_model = 512;       ///< embsize
    std::int64_t d_hid = 512;         ///< feed-forward width
    std::int64_t n_bins = 51;
    std::int64_t max_seq_len = 1200;
    double pad_value = -2;
    double mask_value = -1;
    std::string pad_token = "<pad>";
    std::string input_emb_style = "continuous"; ///< continuous | category | scaling
    std::string input_style = "binned";         ///< binned | log1p | normed_raw
    bool fast_transformer = true;               ///< flash-attn at training time; irrelevant for inference

    [[nodiscard]] std::int64_t head_dim() const { return d_model / n_heads; }
};

/// Parses an args.json object. Throws scx::Error naming @p what for missing or
/// inconsistent fields (nheads must divide embsize; sizes positive).
ScGptConfig parse_scgpt_config(const nlohmann::json& args, const std::string& what);

} // namespace scx
