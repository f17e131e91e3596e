#pragma once
/// @file scgpt_checkpoint.hpp
/// @brief A whole scGPT checkpoint: args.json + vocab.json + weights (best_model.pt or
/// a .safetensors copy), loaded, checked against each other and summarised.
///
/// Lives in model/ rather than io/ because it returns ScGptWeights; the file formats
/// themselves are read by io/torch_checkpoint and io/safetensors.

#include "scextract/core/tensor.hpp"
#include "scextract/io/safetensors.hpp"
#include "scextract/model/scgpt_config.hpp"
#include "scextract/model/scgpt_weights.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace scx {

/// The named tensors of one weights file, whatever its format.
struct CheckpointTensors {
    TensorMap tensors;
    std::string format;               ///< "safetensors" or "pytorch"
    SafetensorsMetadata metadata;     ///< a safetensors file's "__metadata__" (empty for .pt)
    std::vector<std::string> skipped; ///< .pt entries that are not tensors (counters, optimizer scalars)
    std::string wrapper_key;          ///< .pt: the key the state dict was found under ("" = top level)
};

/// "pytorch" for a torch.save zip archive, "safetensors" for a safetensors file, decided
/// from the first bytes (falling back to the extension: .pt/.pth/.bin/.ckpt or .safetensors).
/// Throws scx::Error naming @p path when it is neither.
std::string detect_tensor_file_format(const std::string& path);

/// Reads every tensor of a .pt (state dict, unwrapped) or .safetensors file.
CheckpointTensors read_checkpoint_tensors(const std::string& path);

/// Removes @p prefix from every key when every key carries it (DataParallel's "module.");
/// returns whether it did.
bool strip_common_prefix(TensorMap& tensors, std::string_view prefix);

/// Where the parts of a checkpoint are.
struct ScGptCheckpointPaths {
    std::string args_json;  ///< "" when absent
    std::string vocab_json; ///< "" when absent
    std::string weights;
};

/// Resolves a checkpoint directory or weights file. For a directory, the weights are
/// the first of model.safetensors, best_model.safetensors, best_model.pt, model.pt that
/// exists: a safetensors copy is preferred over the .pt it was converted from because it
/// loads without unpickling (`scextract convert-model best_model.pt best_model.safetensors`).
/// For a file, args.json and vocab.json are looked for beside it. Throws when no weights
/// file is found.
ScGptCheckpointPaths locate_scgpt_checkpoint(const std::string& dir_or_file);

/// True for a directory holding args.json, or a file whose name ends in .pt, .pth,
/// .ckpt or .safetensors: what `scextract inspect` describes as a checkpoint.
bool is_checkpoint_path(const std::string& path);

/// A loaded, validated scGPT checkpoint.
struct ScGptCheckpoint {
    ScGptConfig config;
    std::unordered_map<std::string, std::int64_t> vocab; ///< gene symbol -> token id (0..n-1)
    ScGptWeights weights;
    ScGptWeightsReport report;
    std::string weights_file; ///< path of the weights that were read
    std::string format;       ///< "safetensors" or "pytorch"
};

/// Loads args.json, vocab.json and the weights of a checkpoint directory (or of the
/// directory holding a weights file; see locate_scgpt_checkpoint()). The vocabulary's
/// ids must be 0..n-1 and contain the config's pad token; the weights must match the
/// config and the vocabulary (scgpt_weights_from_tensors()). Throws scx::Error naming the file.
ScGptCheckpoint load_scgpt_checkpoint(const std::string& dir_or_file);

/// What `scextract inspect` reports about a checkpoint: the weights file and format,
/// tensor count, dtypes and element count, every tensor's name / dtype / shape, and,
/// when args.json and vocab.json are present, the config, vocabulary size, parameters
/// used by the encoder, attention naming and unused keys (after full validation).
/// "kind" is "scgpt_checkpoint" or "tensor_file" (weights without args.json / vocab.json).
nlohmann::ordered_json summarize_checkpoint(const std::string& path);

/// Human-readable rendering of summarize_checkpoint()'s result.
std::string format_checkpoint_summary(const nlohmann::ordered_json& summary);

} // namespace scx
