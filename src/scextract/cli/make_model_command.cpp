/// @file make_model_command.cpp
/// @brief `scextract make-model --out DIR`: a synthetic scGPT checkpoint directory, random or
/// with gene programs planted into chosen attention heads (model/scgpt_make_model.hpp).

#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/gene_programs.hpp"
#include "scextract/model/scgpt_make_model.hpp"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kBundledVocab = "scgpt_whole_human_vocab.json";

/// The bundled whole-human vocabulary: $SCX_DATA_DIR, else the source tree's data/ (compiled
/// in), else data/ beside or above the executable or share/scextract/ of an installation.
std::string default_vocab_path() {
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("SCX_DATA_DIR"); env && *env) candidates.emplace_back(fs::path(env) / kBundledVocab);
#ifdef SCX_DATA_DIR
    candidates.emplace_back(fs::path(SCX_DATA_DIR) / kBundledVocab); // the source tree's data/ (build trees)
#endif
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto dir = exe.parent_path();
        candidates.push_back(dir / "data" / kBundledVocab);
        candidates.push_back(dir.parent_path() / "data" / kBundledVocab);
        candidates.push_back(dir.parent_path() / "share" / "scextract" / kBundledVocab);
    }
    for (const auto& c : candidates)
        if (fs::is_regular_file(c, ec)) return c.string();
    throw UsageError(fmt::format("cannot find the bundled vocabulary {} (looked in $SCX_DATA_DIR and beside the "
                                 "executable); pass --vocab FILE",
                                 kBundledVocab));
}

} // namespace

Command add_make_model_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string out, size = "whole-human", vocab, plant, plant_programs, heads = "2:5", format = "pt";
        double strength = ScGptPlantOptions{}.strength;
        double code_cosine = ScGptPlantOptions{}.code_cosine;
        std::int64_t vocab_genes = -1;
        bool force = false;
    };
    auto a = std::make_shared<Args>();
    auto* app = root.add_subcommand(
        "make-model", "write a synthetic scGPT checkpoint directory (args.json, vocab.json, best_model.pt) with "
                      "scGPT's key names and PyTorch's default initialisation, optionally with gene programs planted "
                      "into chosen attention heads (docs/planted_model.md); the seed is the global --seed");
    app->add_option("--out", a->out, "checkpoint directory to create (must not exist or be empty, unless --force)")
        ->required();
    app->add_option("--size", a->size, "architecture: tiny (3 layers x 8 heads, d 128), small (4 x 8, d 256) or "
                                       "whole-human (12 x 8, d 512)")
        ->check(CLI::IsMember({"tiny", "small", "whole-human"}))
        ->capture_default_str();
    app->add_option("--vocab", a->vocab, "vocab.json to use (default: the bundled whole-human vocabulary, 60,697 "
                                         "tokens)");
    app->add_option("--vocab-genes", a->vocab_genes,
                    "keep only the first N genes of the vocabulary (plus every planted gene and the special tokens, "
                    "which stay last); default: all")
        ->check(CLI::NonNegativeNumber);
    auto* plant = app->add_option("--plant", a->plant, "plant the gene programs of a simulated .h5ad "
                                                       "(uns['scx_sim']['programs'])");
    auto* programs = app->add_option("--plant-programs", a->plant_programs,
                                     "plant the gene programs of a JSON file {\"program\": [\"GENE\", ...], ...}");
    plant->excludes(programs);
    auto* heads = app->add_option("--plant-heads", a->heads, "heads to plant, layer:head 0-based, comma separated")
                      ->capture_default_str();
    auto* strength = app->add_option("--plant-strength", a->strength,
                                     "target attention logit between two genes of one program at the embedding")
                         ->check(CLI::PositiveNumber)
                         ->capture_default_str();
    auto* cosine = app->add_option("--plant-code-cosine", a->code_cosine,
                                   "cosine between a planted gene's normalised embedding and its program code")
                       ->check(CLI::Range(0.01, 0.99))
                       ->capture_default_str();
    app->add_option("--format", a->format, "weights file: pt (best_model.pt, torch.save format) or safetensors "
                                           "(best_model.safetensors)")
        ->check(CLI::IsMember({"pt", "safetensors"}))
        ->capture_default_str();
    app->add_flag("--force", a->force, "replace DIR if it exists and is not empty");

    return {app, [a, &g, heads, strength, cosine](const Console& console) {
                const bool planting = !a->plant.empty() || !a->plant_programs.empty();
                if (!planting)
                    for (const auto* opt : {heads, strength, cosine})
                        if (opt->count() > 0)
                            throw UsageError(fmt::format("{} needs --plant or --plant-programs", opt->get_name()));

                MakeModelOptions o;
                o.out_dir = a->out;
                o.size = parse_scgpt_size(a->size);
                o.seed = g.seed;
                o.format = a->format;
                o.force = a->force;
                o.threads = console.threads();
                if (planting) {
                    o.programs_source = !a->plant.empty() ? a->plant : a->plant_programs;
                    o.programs = read_gene_programs(o.programs_source);
                    o.plant.heads = parse_head_list(a->heads);
                    o.plant.strength = a->strength;
                    o.plant.code_cosine = a->code_cosine;
                }
                const auto vocab_path = a->vocab.empty() ? default_vocab_path() : a->vocab;
                const auto full = read_token_list(vocab_path);
                std::vector<std::string> keep;
                for (const auto& p : o.programs) keep.insert(keep.end(), p.genes.begin(), p.genes.end());
                o.vocab = reduce_token_list(full, a->vocab_genes, keep);
                console.detail(fmt::format("vocabulary: {} ({} of {} tokens)", vocab_path, o.vocab.size(), full.size()));

                const auto r = make_scgpt_model(o);
                console.info(fmt::format("wrote {} ({} model, {} layers x {} heads, embsize {}, vocabulary {}, {} "
                                         "tensors, {} parameters, {:.1f} MB weights; init {:.2f} s, write {:.2f} s)",
                                         a->out, a->size, r.config.n_layers, r.config.n_heads, r.config.d_model,
                                         r.vocab_size, r.n_tensors, r.n_parameters,
                                         static_cast<double>(r.weights_bytes) / 1e6, r.seconds_init, r.seconds_write));
                if (r.planted) {
                    std::vector<std::string> hs;
                    for (const auto& h : r.plant.heads) hs.push_back(fmt::format("{}:{}", h.layer, h.head));
                    std::vector<std::string> skipped;
                    std::size_t missing = 0;
                    for (const auto& p : r.plant.programs) {
                        if (!p.planted) skipped.push_back(p.name);
                        missing += p.missing.size();
                    }
                    console.info(fmt::format("planted {} programs ({} genes) into head(s) {}; see {}/PLANTED.md",
                                             r.plant.n_programs, r.plant.n_genes, fmt::join(hs, ", "), a->out));
                    if (missing > 0)
                        console.warn(fmt::format("{} program genes are not in the vocabulary (listed in planted.json)",
                                                 missing));
                    if (!skipped.empty())
                        console.warn(fmt::format("programs with fewer than 2 genes in the vocabulary were not planted: "
                                                 "{}",
                                                 fmt::join(skipped, ", ")));
                    if (r.check.share.size() > 0) {
                        for (const auto& h : r.plant.heads)
                            console.info(fmt::format("self-check: head {}:{} puts {:.3f} of its attention within "
                                                     "programs (chance {:.3f})",
                                                     h.layer, h.head, r.check.share(h.layer, h.head), r.check.chance));
                    }
                }
            }};
}

} // namespace scx::cli
