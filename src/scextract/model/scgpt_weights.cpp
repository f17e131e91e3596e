#include "scextract/model/scgpt_weights.hpp"

#include "scextract/core/error.hpp"

#include <charconv>
#include <cmath>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

constexpr std::string_view module_prefix = "module.";
constexpr std::string_view layer_prefix = "transformer_encoder.layers.";

std::string shape_text(const std::vector<std::int64_t>& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

/// Looks tensors up by their prefix-free names and remembers which were used.
class KeyTable {
  public:
    /// Each tensor's storage reference is dropped once it has been converted, so a
    /// storage is freed as soon as no other unconverted tensor shares it.
    KeyTable(TensorMap& tensors, const std::string& what, ScGptWeightsReport& report)
        : what_(what), report_(report) {
        by_name_.reserve(tensors.size());
        for (auto& [raw, t] : tensors) {
            std::string name = raw;
            if (name.starts_with(module_prefix)) { // DataParallel / DDP wrappers
                name.erase(0, module_prefix.size());
                report_.stripped_module_prefix = true;
            }
            if (!by_name_.emplace(name, &t).second)
                throw Error(fmt::format("{}: key '{}' appears twice once a 'module.' prefix is stripped", what_, name));
            order_.push_back(name);
        }
    }

    [[nodiscard]] bool has(const std::string& key) const { return by_name_.contains(key); }
    [[nodiscard]] Tensor* find(const std::string& key) const {
        const auto it = by_name_.find(key);
        return it == by_name_.end() ? nullptr : it->second;
    }
    [[nodiscard]] const std::vector<std::string>& names() const { return order_; }

    /// The tensor @p key as fp32 in row-major order into @p out (its element count of
    /// floats), checked to have @p shape and finite values; its storage is then released.
    void take_into(float* out, const std::string& key, const std::vector<std::int64_t>& shape,
                   const std::string& expected_note) {
        const auto it = by_name_.find(key);
        if (it == by_name_.end()) throw Error(fmt::format("{}: missing weight '{}'", what_, key));
        Tensor& t = *it->second;
        if (!tensor_dtype_is_float(t.dtype))
            throw Error(fmt::format("{}: '{}' holds {} values; a weight must be floating point", what_, key,
                                    tensor_dtype_name(t.dtype)));
        if (t.shape != shape)
            throw Error(fmt::format("{}: '{}' has shape {} but the config expects {} ({})", what_, key,
                                    shape_text(t.shape), shape_text(shape), expected_note));
        t.to_float_into(out, fmt::format("{}: '{}'", what_, key));
        const auto n = t.numel();
        for (std::int64_t i = 0; i < n; ++i)
            if (!std::isfinite(out[i]))
                throw Error(fmt::format("{}: '{}' holds {} at flat index {}; refusing non-finite weights", what_, key,
                                        std::isnan(out[i]) ? "NaN" : "Inf", i));
        used_.insert(key);
        report_.n_parameters += n;
        t.storage.reset();
    }

    RowMatrixF matrix(const std::string& key, std::int64_t rows, std::int64_t cols, const std::string& note) {
        RowMatrixF m(rows, cols);
        take_into(m.data(), key, {rows, cols}, note);
        return m;
    }

    VectorF vector(const std::string& key, std::int64_t n, const std::string& note) {
        VectorF v(n);
        take_into(v.data(), key, {n}, note);
        return v;
    }

    [[nodiscard]] std::vector<std::string> unused() const {
        std::vector<std::string> out;
        for (const auto& n : order_)
            if (!used_.contains(n)) out.push_back(n);
        return out;
    }

  private:
    const std::string& what_;
    ScGptWeightsReport& report_;
    std::unordered_map<std::string, Tensor*> by_name_;
    std::vector<std::string> order_;
    std::unordered_set<std::string> used_;
};

/// The layer indices named by "transformer_encoder.layers.<N>.*" keys.
std::set<std::int64_t> layer_indices(const std::vector<std::string>& names) {
    std::set<std::int64_t> out;
    for (const auto& n : names) {
        if (!n.starts_with(layer_prefix)) continue;
        const char* first = n.data() + layer_prefix.size();
        const char* last = n.data() + n.size();
        std::int64_t idx = 0;
        const auto [p, ec] = std::from_chars(first, last, idx);
        if (ec == std::errc() && p != first && p < last && *p == '.') out.insert(idx);
    }
    return out;
}

} // namespace

ScGptWeights scgpt_weights_from_tensors(const TensorMap& tensors, const ScGptConfig& config, std::int64_t vocab_size,
                                        const std::string& what, ScGptWeightsReport* report) {
    return scgpt_weights_from_tensors(TensorMap(tensors), config, vocab_size, what, report);
}

ScGptWeights scgpt_weights_from_tensors(TensorMap&& tensors, const ScGptConfig& config, std::int64_t vocab_size,
                                        const std::string& what, ScGptWeightsReport* report) {
    if (config.input_emb_style != "continuous")
        throw Error(fmt::format("{}: input_emb_style '{}' is not supported; only scGPT's continuous value encoder "
                                "(value_encoder.linear1/linear2/norm, as in the whole-human model) is implemented",
                                what, config.input_emb_style));
    if (vocab_size <= 0) throw Error(fmt::format("{}: vocabulary size must be positive, got {}", what, vocab_size));
    ScGptWeightsReport local;
    ScGptWeightsReport& rep = report ? *report : local;
    rep = ScGptWeightsReport{};
    KeyTable keys(tensors, what, rep);

    const auto d = config.d_model, h = config.d_hid;
    const auto d_note = fmt::format("embsize={}", d);
    const auto h_note = fmt::format("embsize={}, d_hid={}", d, h);

    ScGptWeights w;
    w.config = config;
    {
        const std::string key = "encoder.embedding.weight";
        // Name the vocabulary mismatch plainly: it means vocab.json and the weights do not belong together.
        if (const auto* t = keys.find(key)) {
            const auto& shape = t->shape;
            if (shape.size() == 2 && shape[1] == d && shape[0] != vocab_size)
                throw Error(fmt::format("{}: '{}' has {} rows but the vocabulary has {} tokens (vocab.json and the "
                                        "weights do not belong together)",
                                        what, key, shape[0], vocab_size));
        }
        w.gene_embedding = keys.matrix(key, vocab_size, d, fmt::format("vocabulary size={}, {}", vocab_size, d_note));
    }
    w.enc_norm_w = keys.vector("encoder.enc_norm.weight", d, d_note);
    w.enc_norm_b = keys.vector("encoder.enc_norm.bias", d, d_note);
    w.value_W1 = keys.matrix("value_encoder.linear1.weight", d, 1, d_note);
    w.value_b1 = keys.vector("value_encoder.linear1.bias", d, d_note);
    w.value_W2 = keys.matrix("value_encoder.linear2.weight", d, d, d_note);
    w.value_b2 = keys.vector("value_encoder.linear2.bias", d, d_note);
    w.value_norm_w = keys.vector("value_encoder.norm.weight", d, d_note);
    w.value_norm_b = keys.vector("value_encoder.norm.bias", d, d_note);

    const auto present = layer_indices(keys.names());
    if (!present.empty() && *present.rbegin() >= config.n_layers)
        throw Error(
            fmt::format("{}: the weights have encoder layer {} but args.json says nlayers={} (layers {}..{} found)",
                        what, *present.rbegin(), config.n_layers, *present.begin(), *present.rbegin()));
    if (static_cast<std::int64_t>(present.size()) < config.n_layers) {
        std::int64_t missing = 0;
        while (present.contains(missing)) ++missing;
        throw Error(
            fmt::format("{}: args.json says nlayers={} but the weights have {} encoder layers (layer {} is missing)",
                        what, config.n_layers, present.size(), missing));
    }

    std::set<std::string> namings;
    w.layers.resize(static_cast<std::size_t>(config.n_layers));
    for (std::int64_t l = 0; l < config.n_layers; ++l) {
        const auto p = fmt::format("{}{}.", layer_prefix, l);
        auto& L = w.layers[static_cast<std::size_t>(l)];
        const bool wqkv = keys.has(p + "self_attn.Wqkv.weight"), in_proj = keys.has(p + "self_attn.in_proj_weight");
        if (wqkv && in_proj)
            throw Error(fmt::format("{}: layer {} has both '{}self_attn.Wqkv.weight' and '{}self_attn.in_proj_weight'",
                                    what, l, p, p));
        if (!wqkv && !in_proj)
            throw Error(fmt::format("{}: missing weight '{}self_attn.Wqkv.weight' (or '{}self_attn.in_proj_weight')",
                                    what, p, p));
        const auto qkv_note = fmt::format("3 x embsize={}", d);
        if (wqkv) {
            L.Wqkv = keys.matrix(p + "self_attn.Wqkv.weight", 3 * d, d, qkv_note);
            L.bqkv = keys.vector(p + "self_attn.Wqkv.bias", 3 * d, qkv_note);
            namings.insert("Wqkv");
        } else {
            L.Wqkv = keys.matrix(p + "self_attn.in_proj_weight", 3 * d, d, qkv_note);
            L.bqkv = keys.vector(p + "self_attn.in_proj_bias", 3 * d, qkv_note);
            namings.insert("in_proj");
        }
        L.Wo = keys.matrix(p + "self_attn.out_proj.weight", d, d, d_note);
        L.bo = keys.vector(p + "self_attn.out_proj.bias", d, d_note);
        L.W1 = keys.matrix(p + "linear1.weight", h, d, h_note);
        L.b1 = keys.vector(p + "linear1.bias", h, h_note);
        L.W2 = keys.matrix(p + "linear2.weight", d, h, h_note);
        L.b2 = keys.vector(p + "linear2.bias", d, d_note);
        L.norm1_w = keys.vector(p + "norm1.weight", d, d_note);
        L.norm1_b = keys.vector(p + "norm1.bias", d, d_note);
        L.norm2_w = keys.vector(p + "norm2.weight", d, d_note);
        L.norm2_b = keys.vector(p + "norm2.bias", d, d_note);
    }
    rep.attention_naming = namings.size() == 1 ? *namings.begin() : "mixed";
    rep.unused_keys = keys.unused();
    return w;
}

} // namespace scx
