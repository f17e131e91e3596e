#include "scextract/model/scgpt_checkpoint.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/torch_checkpoint.hpp"
#include "scextract/io/vocab_json.hpp"
#include "scextract/io/json_parse.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace fs = std::filesystem;

namespace {

using ojson = nlohmann::ordered_json;

std::string lower_extension(const std::string& path) {
    auto ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

bool is_file(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

nlohmann::json read_json_file(const std::string& path) {
    // args.json and vocab.json of the released models are 1 KB and 1 MB
    return parse_json_bounded<nlohmann::json>(read_json_file_text(path, std::uint64_t{256} << 20, "scGPT JSON file"), path);
}

/// Checks the vocabulary is usable as embedding row indices and holds the pad token.
void check_vocab(const std::unordered_map<std::string, std::int64_t>& vocab, const ScGptConfig& config,
                 const std::string& path) {
    if (vocab.empty()) throw Error(fmt::format("{}: the vocabulary is empty", path));
    const auto n = static_cast<std::int64_t>(vocab.size());
    for (const auto& [symbol, id] : vocab)
        if (id >= n) // ids are unique and non-negative (read_vocab_json), so this is the only way to miss 0..n-1
            throw Error(fmt::format("{}: id {} of '{}' is outside 0..{} (ids must number the {} tokens densely)", path,
                                    id, symbol, n - 1, n));
    if (!vocab.contains(config.pad_token))
        throw Error(
            fmt::format("{}: the pad token '{}' named in args.json is not in the vocabulary", path, config.pad_token));
}

ojson config_json(const ScGptConfig& c) {
    return ojson{{"nlayers", c.n_layers},        {"nheads", c.n_heads},
                 {"embsize", c.d_model},         {"d_hid", c.d_hid},
                 {"n_bins", c.n_bins},           {"max_seq_len", c.max_seq_len},
                 {"pad_token", c.pad_token},     {"pad_value", c.pad_value},
                 {"mask_value", c.mask_value},   {"input_emb_style", c.input_emb_style},
                 {"input_style", c.input_style}, {"fast_transformer", c.fast_transformer}};
}

std::string with_commas(std::int64_t v) {
    const auto digits = std::to_string(v < 0 ? -v : v);
    std::string out = v < 0 ? "-" : "";
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

} // namespace

std::string detect_tensor_file_format(const std::string& path) {
    if (is_dir(path)) throw Error(fmt::format("{}: is a directory, not a weights file", path));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open", path));
    std::array<char, 9> head{};
    in.read(head.data(), head.size());
    const auto got = in.gcount();
    if (got >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == '\x03' && head[3] == '\x04') return "pytorch";
    if (got == 9 && head[8] == '{') return "safetensors";
    const auto ext = lower_extension(path);
    if (ext == ".safetensors") return "safetensors"; // the reader will say what is wrong with it
    if (ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt") return "pytorch";
    throw Error(fmt::format("{}: neither a PyTorch checkpoint (zip archive) nor a safetensors file", path));
}

CheckpointTensors read_checkpoint_tensors(const std::string& path) {
    CheckpointTensors out;
    out.format = detect_tensor_file_format(path);
    if (out.format == "safetensors") {
        auto f = read_safetensors(path);
        out.tensors = std::move(f.tensors);
        out.metadata = std::move(f.metadata);
    } else {
        auto t = read_torch_checkpoint(path);
        out.tensors = std::move(t.tensors);
        out.skipped = std::move(t.skipped);
        out.wrapper_key = std::move(t.wrapper_key);
    }
    return out;
}

bool strip_common_prefix(TensorMap& tensors, std::string_view prefix) {
    if (tensors.empty() || prefix.empty()) return false;
    for (const auto& [name, _] : tensors)
        if (!name.starts_with(prefix)) return false;
    for (auto& [name, _] : tensors) name.erase(0, prefix.size());
    return true;
}

ScGptCheckpointPaths locate_scgpt_checkpoint(const std::string& dir_or_file) {
    ScGptCheckpointPaths p;
    fs::path dir;
    if (is_dir(dir_or_file)) {
        dir = dir_or_file;
        for (const char* name : {"model.safetensors", "best_model.safetensors", "best_model.pt", "model.pt"})
            if (is_file(dir / name)) {
                p.weights = (dir / name).string();
                break;
            }
        if (p.weights.empty())
            throw Error(fmt::format("{}: no weights found (looked for model.safetensors, best_model.safetensors, "
                                    "best_model.pt, model.pt)",
                                    dir_or_file));
    } else if (is_file(dir_or_file)) {
        p.weights = dir_or_file;
        dir = fs::path(dir_or_file).parent_path();
        if (dir.empty()) dir = ".";
    } else {
        throw Error(fmt::format("{}: no such file or directory", dir_or_file));
    }
    if (is_file(dir / "args.json")) p.args_json = (dir / "args.json").string();
    if (is_file(dir / "vocab.json")) p.vocab_json = (dir / "vocab.json").string();
    return p;
}

bool is_checkpoint_path(const std::string& path) {
    if (is_dir(path)) return is_file(fs::path(path) / "args.json");
    const auto ext = lower_extension(path);
    return ext == ".pt" || ext == ".pth" || ext == ".ckpt" || ext == ".safetensors";
}

namespace {

struct Loaded {
    ScGptCheckpointPaths paths;
    CheckpointTensors raw;
    bool has_config = false;
    ScGptConfig config;
    std::unordered_map<std::string, std::int64_t> vocab;
};

Loaded load_parts(const std::string& dir_or_file, bool require_config) {
    Loaded l;
    l.paths = locate_scgpt_checkpoint(dir_or_file);
    const bool have_both = !l.paths.args_json.empty() && !l.paths.vocab_json.empty();
    if (require_config && !have_both)
        throw Error(
            fmt::format("{}: an scGPT checkpoint needs args.json and vocab.json beside the weights ({} missing)",
                        dir_or_file, l.paths.args_json.empty() ? "args.json" : "vocab.json"));
    if (have_both) { // read the small files first so a wrong directory fails before the weights are loaded
        l.config = parse_scgpt_config(read_json_file(l.paths.args_json), l.paths.args_json);
        l.vocab = read_vocab_json(l.paths.vocab_json);
        check_vocab(l.vocab, l.config, l.paths.vocab_json);
        l.has_config = true;
    }
    l.raw = read_checkpoint_tensors(l.paths.weights);
    return l;
}

} // namespace

ScGptCheckpoint load_scgpt_checkpoint(const std::string& dir_or_file) {
    auto l = load_parts(dir_or_file, true);
    ScGptCheckpoint c;
    c.config = l.config;
    c.weights = scgpt_weights_from_tensors(std::move(l.raw.tensors), l.config, static_cast<std::int64_t>(l.vocab.size()),
                                           l.paths.weights, &c.report);
    c.vocab = std::move(l.vocab);
    c.weights_file = l.paths.weights;
    c.format = l.raw.format;
    return c;
}

nlohmann::ordered_json summarize_checkpoint(const std::string& path) {
    const auto l = load_parts(path, false);
    ojson s;
    s["path"] = path;
    s["kind"] = l.has_config ? "scgpt_checkpoint" : "tensor_file";
    s["weights_file"] = l.paths.weights;
    s["format"] = l.raw.format;
    if (!l.raw.wrapper_key.empty()) s["wrapper_key"] = l.raw.wrapper_key;
    if (!l.raw.metadata.empty()) s["metadata"] = l.raw.metadata;
    if (!l.raw.skipped.empty()) s["skipped"] = l.raw.skipped;
    std::int64_t n_elements = 0;
    std::map<std::string, std::int64_t> dtypes;
    ojson tensors = ojson::array();
    for (const auto& [name, t] : l.raw.tensors) {
        n_elements += t.numel();
        ++dtypes[tensor_dtype_name(t.dtype)];
        tensors.push_back(ojson{{"name", name}, {"dtype", tensor_dtype_name(t.dtype)}, {"shape", t.shape}});
    }
    s["n_tensors"] = l.raw.tensors.size();
    s["n_elements"] = n_elements;
    s["dtypes"] = dtypes;
    if (l.has_config) {
        ScGptWeightsReport rep;
        (void)scgpt_weights_from_tensors(l.raw.tensors, l.config, static_cast<std::int64_t>(l.vocab.size()),
                                         l.paths.weights, &rep);
        s["args_json"] = l.paths.args_json;
        s["vocab_json"] = l.paths.vocab_json;
        s["config"] = config_json(l.config);
        s["vocab_size"] = l.vocab.size();
        s["n_parameters_used"] = rep.n_parameters;
        s["attention_naming"] = rep.attention_naming;
        s["stripped_module_prefix"] = rep.stripped_module_prefix;
        s["unused_keys"] = rep.unused_keys;
    }
    s["tensors"] = std::move(tensors);
    return s;
}

std::string format_checkpoint_summary(const nlohmann::ordered_json& s) {
    std::ostringstream o;
    const bool full = s.at("kind") == "scgpt_checkpoint";
    o << (full ? "scGPT checkpoint " : "tensor file ") << s.at("path").get<std::string>() << "\n";
    o << "  weights: " << s.at("weights_file").get<std::string>() << " (" << s.at("format").get<std::string>();
    if (s.contains("wrapper_key")) o << ", state dict under '" << s.at("wrapper_key").get<std::string>() << "'";
    o << ")\n";
    std::vector<std::string> dt;
    for (const auto& [name, n] : s.at("dtypes").items())
        dt.push_back(fmt::format("{} x {}", name, n.get<std::int64_t>()));
    o << fmt::format("  tensors: {} ({} elements); dtypes: {}\n", s.at("n_tensors").get<std::int64_t>(),
                     with_commas(s.at("n_elements").get<std::int64_t>()),
                     dt.empty() ? "-" : fmt::format("{}", fmt::join(dt, ", ")));
    if (s.contains("metadata"))
        for (const auto& [k, v] : s.at("metadata").items())
            o << "  metadata " << k << ": " << v.get<std::string>() << "\n";
    if (s.contains("skipped"))
        o << fmt::format("  skipped non-tensor entries: {}\n",
                         fmt::join(s.at("skipped").get<std::vector<std::string>>(), ", "));
    if (full) {
        const auto& c = s.at("config");
        o << fmt::format(
            "  config: {} layers, {} heads, embsize {}, d_hid {}, n_bins {}, max_seq_len {}, input {} / {}\n",
            c.at("nlayers").get<std::int64_t>(), c.at("nheads").get<std::int64_t>(),
            c.at("embsize").get<std::int64_t>(), c.at("d_hid").get<std::int64_t>(), c.at("n_bins").get<std::int64_t>(),
            c.at("max_seq_len").get<std::int64_t>(), c.at("input_emb_style").get<std::string>(),
            c.at("input_style").get<std::string>());
        o << fmt::format("  vocabulary: {} tokens\n", with_commas(s.at("vocab_size").get<std::int64_t>()));
        o << fmt::format("  encoder parameters: {} (attention naming {}{})\n",
                         with_commas(s.at("n_parameters_used").get<std::int64_t>()),
                         s.at("attention_naming").get<std::string>(),
                         s.at("stripped_module_prefix").get<bool>() ? "; 'module.' prefix stripped" : "");
        const auto unused = s.at("unused_keys").get<std::vector<std::string>>();
        o << fmt::format("  unused keys ({}){}{}\n", unused.size(), unused.empty() ? "" : ": ",
                         fmt::join(unused, ", "));
    } else {
        o << "  (no args.json / vocab.json beside it: shapes not checked against a config)\n";
        for (const auto& t : s.at("tensors"))
            o << fmt::format("  {} {} [{}]\n", t.at("name").get<std::string>(), t.at("dtype").get<std::string>(),
                             fmt::join(t.at("shape").get<std::vector<std::int64_t>>(), ", "));
    }
    return o.str();
}

} // namespace scx
