#include "scextract/model/scgpt_config.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/json_parse.hpp"

#include <cmath>

#include <fmt/format.h>

namespace scx {

namespace {
// Far above any released scGPT (12 layers, 8 heads, 512 wide, 1,200 tokens), far below
// what would exhaust memory before the checkpoint's own shapes are compared with these.
constexpr std::int64_t kMaxLayers = 1024, kMaxHeads = 1024, kMaxWidth = 65536, kMaxHidden = 262144,
                       kMaxBins = 1000000, kMaxSeqLen = 1000000;

std::int64_t positive_int(const nlohmann::json& j, const char* key, std::int64_t fallback, bool required, const std::string& what,
                          std::int64_t max) {
    if (!j.contains(key)) {
        if (required) throw Error(fmt::format("{}: missing '{}'", what, key));
        return fallback;
    }
    const auto& v = j.at(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() <= 0)
        throw Error(fmt::format("{}: '{}' must be a positive integer, found {}", what, key, json_excerpt(v)));
    const auto n = v.get<std::int64_t>();
    if (n > max) throw Error(fmt::format("{}: {}: {} is more than {}, which no scGPT model uses", what, key, n, max));
    return n;
}
} // namespace

ScGptConfig parse_scgpt_config(const nlohmann::json& args, const std::string& what) {
    if (!args.is_object()) throw Error(fmt::format("{}: expected a JSON object", what));
    ScGptConfig c;
    c.n_layers = positive_int(args, "nlayers", c.n_layers, true, what, kMaxLayers);
    c.n_heads = positive_int(args, "nheads", c.n_heads, true, what, kMaxHeads);
    c.d_model = positive_int(args, "embsize", c.d_model, true, what, kMaxWidth);
    c.d_hid = positive_int(args, "d_hid", c.d_hid, true, what, kMaxHidden);
    c.n_bins = positive_int(args, "n_bins", c.n_bins, false, what, kMaxBins);
    c.max_seq_len = positive_int(args, "max_seq_len", c.max_seq_len, false, what, kMaxSeqLen);
    if (c.d_model % c.n_heads != 0)
        throw Error(fmt::format("{}: nheads ({}) does not divide embsize ({})", what, c.n_heads, c.d_model));
    // The transformer's float32 weights (attention 4 d^2, feed-forward 2 d d_hid per layer)
    // must fit in memory; the checkpoint is read only after this check.
    const double d = static_cast<double>(c.d_model), h = static_cast<double>(c.d_hid);
    const double weight_bytes = 4.0 * static_cast<double>(c.n_layers) * (4 * d * d + 2 * d * h);
    const double memory = physical_memory_bytes();
    if (memory > 0 && weight_bytes > memory)
        throw Error(fmt::format("{}: nlayers {}, embsize {}, d_hid {} would need {:.1f} GB of weights, more than this "
                                "machine's {:.1f} GB of memory",
                                what, c.n_layers, c.d_model, c.d_hid, weight_bytes / 1e9, memory / 1e9));
    auto number = [&](const char* key, double& out) {
        if (!args.contains(key)) return;
        if (!args.at(key).is_number()) throw Error(fmt::format("{}: '{}' must be a number", what, key));
        out = args.at(key).get<double>();
        if (!std::isfinite(out)) throw Error(fmt::format("{}: '{}' must be finite", what, key));
    };
    number("pad_value", c.pad_value);
    number("mask_value", c.mask_value);
    auto text = [&](const char* key, std::string& out) {
        if (!args.contains(key) || args.at(key).is_null()) return;
        if (!args.at(key).is_string()) throw Error(fmt::format("{}: '{}' must be a string", what, key));
        out = args.at(key).get<std::string>();
    };
    text("pad_token", c.pad_token);
    text("input_emb_style", c.input_emb_style);
    text("input_style", c.input_style);
    if (args.contains("fast_transformer") && args.at("fast_transformer").is_boolean())
        c.fast_transformer = args.at("fast_transformer").get<bool>();
    if (c.input_emb_style != "continuous" && c.input_emb_style != "category" && c.input_emb_style != "scaling")
        throw Error(fmt::format("{}: unknown input_emb_style '{}' (scGPT knows continuous, category, scaling)", what,
                                c.input_emb_style));
    return c;
}

} // namespace scx
