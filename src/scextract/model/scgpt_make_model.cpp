#include "scextract/model/scgpt_make_model.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/live_temporaries.hpp"
#include "scextract/io/safetensors.hpp"
#include "scextract/io/torch_checkpoint_writer.hpp"
#include "scextract/io/vocab_json.hpp"
#include "scextract/model/scgpt_weights.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace fs = std::filesystem;

namespace {

bool is_special(const std::string& s) { return s.size() >= 2 && s.front() == '<' && s.back() == '>'; }

std::string head_name(const AttentionHeadRef& h) { return fmt::format("{}:{}", h.layer, h.head); }

void write_text(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error(fmt::format("{}: write failed (disk full?)", p.string()));
}

/// Removes a half-written directory unless released.
class DirGuard {
  public:
    explicit DirGuard(fs::path p) : p_(std::move(p)) {}
    ~DirGuard() {
        if (!p_.empty()) {
            std::error_code ec;
            fs::remove_all(p_, ec);
        }
    }
    DirGuard(const DirGuard&) = delete;
    DirGuard& operator=(const DirGuard&) = delete;
    void release() { p_.clear(); }

  private:
    fs::path p_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unordered_map<std::string, std::int64_t> token_map(const TokenList& tokens) {
    std::unordered_map<std::string, std::int64_t> m;
    m.reserve(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) m.emplace(tokens[i], static_cast<std::int64_t>(i));
    return m;
}

nlohmann::ordered_json plant_report(const MakeModelResult& r, const MakeModelOptions& o,
                                    const std::unordered_map<std::string, std::int64_t>& vocab) {
    const auto& p = r.plant;
    const auto d = r.config.d_model, dh = r.config.head_dim();
    nlohmann::ordered_json j;
    j["generator"] = "scextract make-model";
    j["method"] = "docs/planted_model.md";
    j["size"] = scgpt_size_name(o.size);
    j["seed"] = o.seed;
    j["programs_source"] = o.programs_source;
    j["strength"] = p.strength;
    j["code_cosine"] = p.code_cosine;
    j["alpha"] = p.alpha;
    j["heads"] = nlohmann::ordered_json::array();
    for (const auto& h : p.heads) j["heads"].push_back(head_name(h));
    j["n_programs"] = p.n_programs;
    j["n_genes"] = p.n_genes;
    j["n_multi_program_genes"] = p.n_multi_program_genes;
    j["codes_orthonormal"] = p.codes_orthonormal;
    j["readout_orthonormal"] = p.readout_orthonormal;
    j["measured_code_cosine"] = {{"min", p.measured_cosine_min}, {"max", p.measured_cosine_max}};
    j["embedding_row_shift_mean"] = p.code_shift_mean;

    auto modified = nlohmann::ordered_json::array();
    {
        std::vector<std::int64_t> rows;
        for (const auto& prog : p.programs)
            if (prog.planted)
                for (const auto& g : prog.genes) rows.push_back(vocab.at(g));
        std::sort(rows.begin(), rows.end());
        rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
        modified.push_back({{"tensor", "encoder.embedding.weight"},
                            {"change", "component of each row along its gene's program code set so that "
                                       "cos(LayerNorm(row), code) = code_cosine; rest of the row unchanged"},
                            {"rows", rows}});
    }
    for (const auto& h : p.heads) {
        const auto q0 = h.head * dh, k0 = d + h.head * dh;
        modified.push_back({{"tensor", fmt::format("transformer_encoder.layers.{}.self_attn.Wqkv.weight", h.layer)},
                            {"head", head_name(h)},
                            {"change", "alpha * R_h U^T added to the head's query rows and to its key rows"},
                            {"query_rows", {q0, q0 + dh}},
                            {"key_rows", {k0, k0 + dh}}});
    }
    j["modified"] = modified;
    j["unchanged"] = "every other tensor, row and element, biases included, holds its default initial value "
                     "(identical to the unplanted model of the same seed)";

    auto programs = nlohmann::ordered_json::array();
    for (const auto& prog : p.programs) {
        std::vector<std::int64_t> ids;
        for (const auto& g : prog.genes) ids.push_back(vocab.at(g));
        programs.push_back({{"name", prog.name},
                            {"planted", prog.planted},
                            {"genes", prog.genes},
                            {"token_ids", ids},
                            {"missing_from_vocab", prog.missing}});
    }
    j["programs"] = programs;

    if (r.check.share.size() > 0) {
        nlohmann::ordered_json c;
        c["cells"] = o.probe.n_cells;
        c["programs_per_cell"] = o.probe.programs_per_cell;
        c["genes_per_program"] = o.probe.genes_per_program;
        c["background_genes"] = o.probe.background_genes;
        c["queries"] = r.check.n_queries;
        c["chance"] = r.check.chance;
        auto planted = nlohmann::ordered_json::array();
        for (const auto& h : p.heads) planted.push_back({{"head", head_name(h)}, {"share", r.check.share(h.layer, h.head)}});
        c["planted_heads"] = planted;
        double best = -1;
        std::string best_head;
        for (Eigen::Index l = 0; l < r.check.share.rows(); ++l)
            for (Eigen::Index hh = 0; hh < r.check.share.cols(); ++hh) {
                const AttentionHeadRef ref{l, hh};
                if (std::find(p.heads.begin(), p.heads.end(), ref) != p.heads.end()) continue;
                if (r.check.share(l, hh) > best) {
                    best = r.check.share(l, hh);
                    best_head = head_name(ref);
                }
            }
        c["max_unplanted"] = {{"head", best_head}, {"share", best}};
        auto grid = nlohmann::ordered_json::array();
        for (Eigen::Index l = 0; l < r.check.share.rows(); ++l) {
            auto row = nlohmann::ordered_json::array();
            for (Eigen::Index hh = 0; hh < r.check.share.cols(); ++hh) row.push_back(r.check.share(l, hh));
            grid.push_back(row);
        }
        c["share_by_layer_head"] = grid;
        j["self_check"] = c;
    }
    return j;
}

} // namespace

TokenList read_token_list(const std::string& path) {
    const auto vocab = read_vocab_json(path);
    TokenList tokens(vocab.size());
    for (const auto& [sym, id] : vocab) {
        if (id >= static_cast<std::int64_t>(tokens.size()))
            throw Error(fmt::format("{}: ids are not 0..{} (found id {})", path, tokens.size() - 1, id));
        tokens[static_cast<std::size_t>(id)] = sym;
    }
    if (tokens.empty()) throw Error(fmt::format("{}: empty vocabulary", path));
    return tokens;
}

TokenList reduce_token_list(const TokenList& full, std::int64_t n_genes, const std::vector<std::string>& keep) {
    if (n_genes < 0) return full;
    const std::unordered_set<std::string> wanted(keep.begin(), keep.end());
    TokenList genes, specials;
    std::int64_t taken = 0;
    for (const auto& t : full) {
        if (is_special(t)) {
            specials.push_back(t);
            continue;
        }
        if (taken < n_genes) {
            genes.push_back(t);
            ++taken;
        } else if (wanted.contains(t)) {
            genes.push_back(t);
        }
    }
    genes.insert(genes.end(), specials.begin(), specials.end());
    return genes;
}

nlohmann::ordered_json synthetic_args_json(const ScGptConfig& c, ScGptSize size, std::uint64_t seed, bool planted) {
    // the keys of the whole-human args.json in its order; run-specific values are null
    nlohmann::ordered_json j;
    j["data_source"] = nullptr;
    j["save_dir"] = nullptr;
    j["load_model"] = nullptr;
    j["n_hvg"] = nullptr;
    j["valid_size_or_ratio"] = 0.003;
    j["dist_backend"] = nullptr;
    j["grad_accu_steps"] = 1;
    j["pad_token"] = c.pad_token;
    j["input_style"] = c.input_style;
    j["input_emb_style"] = c.input_emb_style;
    j["n_bins"] = c.n_bins;
    j["max_seq_len"] = c.max_seq_len;
    j["training_tasks"] = "both";
    j["dist_url"] = nullptr;
    j["mask_ratio"] = {0.25, 0.5, 0.75};
    j["trunc_by_sample"] = true;
    j["vocab_path"] = "vocab.json";
    j["rank"] = 0;
    j["batch_size"] = 32;
    j["eval_batch_size"] = 64;
    j["epochs"] = 0; // never trained
    j["lr"] = 0.0001;
    j["scheduler_interval"] = 100;
    j["scheduler_factor"] = 0.99;
    j["warmup_ratio_or_step"] = 10000.0;
    j["no_cls"] = true;
    j["no_cce"] = true;
    j["fp16"] = true;
    j["fast_transformer"] = c.fast_transformer;
    j["nlayers"] = c.n_layers;
    j["nheads"] = c.n_heads;
    j["embsize"] = c.d_model;
    j["d_hid"] = c.d_hid;
    j["dropout"] = 0.2;
    j["n_layers_cls"] = 3;
    j["log_interval"] = 9000;
    j["save_interval"] = 27000;
    j["mask_value"] = static_cast<std::int64_t>(c.mask_value);
    j["pad_value"] = static_cast<std::int64_t>(c.pad_value);
    j["USE_CLS"] = false;
    j["USE_CCE"] = false;
    j["MVC"] = true;
    j["USE_GENERATIVE_TRAINING"] = true;
    j["world_size"] = 1;
    j["distributed"] = false;
    j["local_rank"] = 0;
    j["gpu"] = 0;
    j["scextract"] = {{"generator", "scextract make-model"},
                      {"size", scgpt_size_name(size)},
                      {"seed", seed},
                      {"trained", false},
                      {"planted", planted}};
    return j;
}

MakeModelResult make_scgpt_model(const MakeModelOptions& o) {
    if (o.out_dir.empty()) throw UsageError("make-model: no output directory given");
    if (o.format != "pt" && o.format != "safetensors")
        throw UsageError(fmt::format("make-model: unknown weights format '{}' (expected pt or safetensors)", o.format));
    fs::path out = fs::path(o.out_dir).lexically_normal();
    if (out.filename().empty()) out = out.parent_path(); // "dir/" -> "dir"
    std::error_code ec;
    const bool exists = fs::exists(out, ec);
    if (exists && !fs::is_directory(out, ec))
        throw UsageError(fmt::format("{}: exists and is not a directory", out.string()));
    const bool non_empty = exists && !fs::is_empty(out, ec);
    if (non_empty && !o.force)
        throw Error(fmt::format("{}: directory is not empty; choose another --out or pass --force to replace it",
                                     out.string()));
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    if (!fs::is_directory(parent, ec))
        throw Error(fmt::format("{}: parent directory {} does not exist", out.string(), parent.string()));

    MakeModelResult r;
    r.config = scgpt_size_config(o.size);
    const auto& vocab_tokens = o.vocab;
    const auto V = static_cast<std::int64_t>(vocab_tokens.size());
    const auto vocab = token_map(vocab_tokens);
    if (static_cast<std::int64_t>(vocab.size()) != V) throw Error("make-model: the vocabulary lists a token twice");
    if (!vocab.contains(r.config.pad_token))
        throw Error(fmt::format("make-model: the vocabulary has no pad token '{}'", r.config.pad_token));
    r.vocab_size = V;

    const auto t_init = std::chrono::steady_clock::now();
    ScGptInitOptions init;
    init.seed = o.seed;
    TensorMap state = init_scgpt_state_dict(r.config, V, init);
    if (!o.programs.empty()) {
        auto plant = o.plant;
        plant.seed = o.seed;
        r.plant = plant_gene_programs(state, r.config, vocab, o.programs, plant);
        r.planted = true;
    }
    r.seconds_init = seconds_since(t_init);
    r.n_tensors = static_cast<std::int64_t>(state.size());
    for (const auto& [name, t] : state) r.n_parameters += t.numel();

    if (r.planted && o.probe.n_cells > 0) {
        const auto weights = scgpt_weights_from_tensors(state, r.config, V, "make-model self-check");
        const auto membership = program_membership(vocab, V, o.programs);
        std::vector<std::int64_t> specials;
        for (std::int64_t i = 0; i < V; ++i)
            if (is_special(vocab_tokens[static_cast<std::size_t>(i)])) specials.push_back(i);
        auto probe = o.probe;
        probe.seed = o.seed;
        const auto cells = make_program_probe_cells(membership, specials, probe);
        r.check = measure_program_attention(weights, cells, membership, o.threads);
    }

    // everything is written into a temporary directory beside the target, then renamed
    const auto pid = ::getpid();
    const fs::path temp = parent / fmt::format(".{}.tmp-{}", out.filename().string(), pid);
    fs::remove_all(temp, ec);
    if (!fs::create_directory(temp, ec))
        throw Error(fmt::format("{}: cannot create a temporary directory {} ({})", out.string(), temp.string(),
                                ec.message()));
    DirGuard guard(temp);
    const LiveTemporaryDir live(temp); // removed on SIGINT/SIGTERM too

    const auto t_write = std::chrono::steady_clock::now();
    write_text(temp / "args.json", synthetic_args_json(r.config, o.size, o.seed, r.planted).dump(2) + "\n");
    {
        // by hand: ordered_json looks every key up linearly, quadratic for 60,697 tokens
        std::string v = "{\n";
        for (std::int64_t i = 0; i < V; ++i)
            v += fmt::format("  {}: {}{}\n", nlohmann::json(vocab_tokens[static_cast<std::size_t>(i)]).dump(), i,
                             i + 1 < V ? "," : "");
        v += "}\n";
        write_text(temp / "vocab.json", v);
    }
    const std::string weights_name = o.format == "pt" ? "best_model.pt" : "best_model.safetensors";
    const fs::path weights_temp = temp / weights_name;
    if (o.format == "pt") write_torch_checkpoint(state, weights_temp.string());
    else write_safetensors(weights_temp.string(), state, {{"format", "pt"}});
    r.weights_bytes = fs::file_size(weights_temp);
    if (r.planted) {
        r.planted_json = plant_report(r, o, vocab);
        write_text(temp / "planted.json", r.planted_json.dump(2) + "\n");
        write_text(temp / "PLANTED.md", planted_model_markdown(r, o));
    }
    r.seconds_write = seconds_since(t_write);

    // into place: an existing (empty, or with force any) directory is moved aside first
    fs::path aside;
    if (exists) {
        aside = parent / fmt::format(".{}.old-{}", out.filename().string(), pid);
        fs::remove_all(aside, ec);
        fs::rename(out, aside, ec);
        if (ec) throw Error(fmt::format("{}: cannot move the existing directory aside ({})", out.string(), ec.message()));
    }
    fs::rename(temp, out, ec);
    if (ec) {
        std::error_code ec2;
        if (!aside.empty()) fs::rename(aside, out, ec2); // put the old one back
        throw Error(fmt::format("{}: cannot move the finished checkpoint into place ({})", out.string(), ec.message()));
    }
    guard.release();
    if (!aside.empty()) fs::remove_all(aside, ec);
    r.weights_path = (out / weights_name).string();
    return r;
}

std::string planted_model_markdown(const MakeModelResult& r, const MakeModelOptions& o) {
    const auto& p = r.plant;
    const auto d = r.config.d_model, dh = r.config.head_dim();
    std::string s;
    s += "# Planted scGPT-format model\n\n";
    s += fmt::format("Written by `scextract make-model` (size {}, seed {}). This model was never trained: every "
                     "weight holds PyTorch's default initial value for its module, except the planted entries "
                     "listed below. The full method is in scextract's docs/planted_model.md; planted.json holds the "
                     "same facts for programs.\n\n",
                     scgpt_size_name(o.size), o.seed);
    s += fmt::format("- architecture: {} layers, {} heads, embsize d = {}, head_dim dh = {}, d_hid {}, vocabulary "
                     "{} tokens\n",
                     r.config.n_layers, r.config.n_heads, d, dh, r.config.d_hid, r.vocab_size);
    s += fmt::format("- gene programs: {} planted of {} given (source: {}), {} distinct genes, {} of them in more "
                     "than one program\n",
                     p.n_programs, p.programs.size(), o.programs_source.empty() ? "-" : o.programs_source, p.n_genes,
                     p.n_multi_program_genes);
    std::vector<std::string> heads;
    for (const auto& h : p.heads) heads.push_back(head_name(h));
    s += fmt::format("- planted heads (layer:head, 0-based): {}\n", fmt::join(heads, ", "));
    s += fmt::format("- strength (target logit between two genes of one program at the embedding): {}; code "
                     "cosine rho: {}; alpha = sqrt(strength * sqrt(dh)) / (rho * sqrt(d)) = {:.6g}\n\n",
                     p.strength, p.code_cosine, p.alpha);
    s += "## What was changed\n\n";
    s += fmt::format("1. `encoder.embedding.weight`, the {} rows of the planted genes (ids in planted.json). Each "
                     "program p has a random unit code u_p in R^{} orthogonal to the all-ones vector ({}). A gene's "
                     "code c_g is the normalised sum of its programs' codes. The row's component along c_g was set "
                     "so that the cosine between LayerNorm(row) and c_g is rho (measured: {:.4f} to {:.4f}); the "
                     "row's components orthogonal to c_g were not changed (mean change of a row: {:.4g} in L2 "
                     "norm).\n",
                     p.n_genes, d, p.codes_orthonormal ? "the codes are exactly orthonormal" : "more programs than "
                     "dimensions, so the codes are unit vectors but not orthogonal",
                     p.measured_cosine_min, p.measured_cosine_max, p.code_shift_mean);
    for (const auto& h : p.heads)
        s += fmt::format("2. `transformer_encoder.layers.{}.self_attn.Wqkv.weight`, head {}: alpha * R U^T (U = "
                         "[u_1..u_P], R a random {} x {} matrix with {} columns) added to the query rows [{}, {}) and "
                         "to the key rows [{}, {}).\n",
                         h.layer, h.head, dh, p.n_programs, p.readout_orthonormal ? "orthonormal" : "unit-length",
                         h.head * dh, (h.head + 1) * dh, d + h.head * dh, d + (h.head + 1) * dh);
    s += "\nNothing else differs from the unplanted model of the same seed: the biases (the head's query and key "
         "biases included), the value rows, every other head, the value encoder, the feed-forward blocks, the "
         "LayerNorms and the unused decoder heads all keep their initial values.\n\n";
    s += "Why it works: the head's query and key read a token's projection on the program codes, so the attention "
         "logit between tokens i and j is about alpha^2 (U^T x_i)^T R^T R (U^T x_j) / sqrt(dh): large and positive "
         "when both carry the same code. LayerNorm keeps the code (orthogonal to the all-ones vector), and the "
         "value encoding, added after the gene encoder's LayerNorm, has no gene-specific component along it. In "
         "deeper layers the residual stream carries the code on, attenuated.\n\n";
    if (r.check.share.size() > 0) {
        s += "## Self-check\n\n";
        s += fmt::format("The forward pass on {} synthetic cells (genes of {} random programs, up to {} genes each, "
                         "plus {} genes of no program, random values in [{}, {}]): share of a query token's attention "
                         "that goes to the other tokens of its programs, averaged over {} query tokens. Chance "
                         "(uniform attention): {:.4f}.\n\n",
                         o.probe.n_cells, o.probe.programs_per_cell, o.probe.genes_per_program, o.probe.background_genes,
                         o.probe.value_min, o.probe.value_max, r.check.n_queries, r.check.chance);
        s += "| head | within-program share |\n|---|---|\n";
        for (const auto& h : p.heads) s += fmt::format("| {} (planted) | {:.4f} |\n", head_name(h), r.check.share(h.layer, h.head));
        double best = -1;
        std::string best_head;
        for (Eigen::Index l = 0; l < r.check.share.rows(); ++l)
            for (Eigen::Index hh = 0; hh < r.check.share.cols(); ++hh) {
                const AttentionHeadRef ref{l, hh};
                if (std::find(p.heads.begin(), p.heads.end(), ref) != p.heads.end()) continue;
                if (r.check.share(l, hh) > best) {
                    best = r.check.share(l, hh);
                    best_head = head_name(ref);
                }
            }
        s += fmt::format("| {} (highest unplanted) | {:.4f} |\n", best_head, best);
    }
    return s;
}

} // namespace scx
