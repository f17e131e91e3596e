#include "scextract/model/scgpt_config.hpp"

#include "scextract/core/error.hpp"

#include <fmt/format.h>

namespace scx {

namespace {
std::int64_t positive_int(const nlohmann::json& j, const char* key, std::int64_t fallback, bool required, const std::string& what) {
    if (!j.contains(key)) {
        if (required) throw Error(fmt::format("{}: missing '{}'", what, key));
        return fallback;
    }
    const auto& v = j.at(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() <= 0)
        throw Error(fmt::format("{}: '{}' must be a positive integer, found {}", what, key, v.dump()));
    return v.get<std::int64_t>();
}
} // namespace

ScGptConfig parse_scgpt_config(const nlohmann::json& args, const std::string& what) {
    if (!args.is_object()) throw Error(fmt::format("{}: expected a JSON object", what));
    ScGptConfig c;
    c.n_layers = positive_int(args, "nlayers", c.n_layers, true, what);
    c.n_heads = positive_int(args, "nheads", c.n_heads, true, what);
    c.d_model = positive_int(args, "embsize", c.d_model, true, what);
    c.d_hid = positive_int(args, "d_hid", c.d_hid, true, what);
    c.n_bins = positive_int(args, "n_bins", c.n_bins, false, what);
    c.max_seq_len = positive_int(args, "max_seq_len", c.max_seq_len, false, what);
    if (c.d_model % c.n_heads != 0)
        throw Error(fmt::format("{}: nheads ({}) does not divide embsize ({})", what, c.n_heads, c.d_model));
    auto number = [&](const char* key, double& out) {
        if (!args.contains(key)) return;
        if (!args.at(key).is_number()) throw Error(fmt::format("{}: '{}' must be a number", what, key));
        out = args.at(key).get<double>();
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
