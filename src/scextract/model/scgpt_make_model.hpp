#pragma once
/// @file scgpt_make_model.hpp
/// @brief `scextract make-model`: writes a synthetic scGPT checkpoint directory (args.json,
/// vocab.json, best_model.pt or best_model.safetensors, and for a planted model planted.json
/// and PLANTED.md) that scextract, scGPT's own loaders and torch.load(weights_only=True) open.
/// The state dict comes from scgpt_init.hpp.

#include "scextract/io/gene_programs.hpp"
#include "scextract/model/scgpt_init.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// A vocabulary in id order (token i has id i).
using TokenList = std::vector<std::string>;

/// Reads a vocab.json as a token list; ids must be exactly 0..n-1. Throws scx::Error naming the file.
TokenList read_token_list(const std::string& path);

/// A reduced vocabulary: the first @p n_genes genes of @p full (in id order; tokens written
/// `<...>` are special and not counted), plus every gene of @p keep that @p full holds, plus
/// all special tokens, renumbered in their original order except that the special tokens go
/// last (as in whole-human scGPT, where `<pad>`, `<cls>`, `<eoc>` are the last three ids).
/// n_genes < 0 keeps the whole vocabulary unchanged.
TokenList reduce_token_list(const TokenList& full, std::int64_t n_genes, const std::vector<std::string>& keep);

/// What make_scgpt_model() writes.
struct MakeModelOptions {
    std::string out_dir;                     ///< the checkpoint directory to create
    ScGptSize size = ScGptSize::whole_human; ///< architecture
    TokenList vocab;                         ///< the vocabulary (must contain `<pad>`)
    std::uint64_t seed = 42;                 ///< initialisation seed (planting uses it too)
    std::vector<GeneProgram> programs;       ///< gene programs to plant; empty = a random model
    std::string programs_source;             ///< where the programs came from (recorded)
    ScGptPlantOptions plant;                 ///< heads and strength; plant.seed is set from seed
    std::string format = "pt";               ///< "pt" (best_model.pt) or "safetensors" (best_model.safetensors)
    bool force = false;                      ///< replace a non-empty out_dir
    /// Probe cells for the self-check of a planted model (within-program attention per head,
    /// reported in planted.json / PLANTED.md); n_cells 0 skips it.
    ProgramProbeOptions probe;
    /// Threads for the self-check's forward pass; the result does not depend on it.
    int threads = 1;
};

/// What make_scgpt_model() did.
struct MakeModelResult {
    ScGptConfig config;
    std::string weights_path;
    std::int64_t vocab_size = 0;
    std::int64_t n_tensors = 0;
    std::int64_t n_parameters = 0;
    std::uint64_t weights_bytes = 0;
    double seconds_init = 0, seconds_write = 0;
    bool planted = false;
    ScGptPlantResult plant;           ///< when planted
    ProgramAttentionResult check;     ///< when planted and probe.n_cells > 0
    nlohmann::ordered_json planted_json; ///< what planted.json holds (null when not planted)
};

/// The args.json of a synthetic model: every key of the whole-human args.json, with the
/// architecture of @p config and the training-run fields that describe no run (paths, cluster
/// settings) set to null; plus an "scextract" entry naming the generator, size, seed and
/// planting.
nlohmann::ordered_json synthetic_args_json(const ScGptConfig& config, ScGptSize size, std::uint64_t seed,
                                           bool planted);

/// Writes the checkpoint directory atomically: everything goes to a temporary directory
/// beside out_dir that is renamed into place once complete (with force, an existing
/// directory is moved aside first and deleted afterwards). Refuses (scx::UsageError) a
/// non-empty out_dir without force and an out_dir that is a file. Throws scx::Error for
/// planting or I/O failures; nothing is left behind.
MakeModelResult make_scgpt_model(const MakeModelOptions& options);

/// The human-readable PLANTED.md for a planting result (what was changed, how, measured effect).
std::string planted_model_markdown(const MakeModelResult& result, const MakeModelOptions& options);

} // namespace scx
