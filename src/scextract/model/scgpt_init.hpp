#pragma once
/// @file scgpt_init.hpp
/// @brief Synthetic scGPT models: a state dict with scGPT's exact key names and shapes,
/// initialised as PyTorch initialises each module (seeded), optionally with gene programs
/// planted into chosen attention heads, and the measure that checks a planting worked.
/// No I/O here; `scextract make-model` (model/scgpt_make_model.hpp) writes the result.
///
/// **Keys.** Those of the whole-human checkpoint, i.e. of scGPT's `TransformerModel` as its
/// pretraining script builds it (args.json: MVC true, USE_CLS false, so `n_cls` = 1 and no
/// `cls_decoder`; `explicit_zero_prob` false, so no `zero_logit` heads; generative training
/// with flash attention, so `flag_encoder` and `self_attn.Wqkv` naming), in module
/// registration order:
///
///     encoder.embedding.weight                  [V, d]   nn.Embedding, then scGPT's
///                                                        init_weights(): U(-0.1, 0.1)
///     encoder.enc_norm.{weight,bias}            [d]      LayerNorm: 1, 0
///     flag_encoder.weight                       [2, d]   nn.Embedding: N(0, 1)
///     value_encoder.linear1.{weight,bias}       [d,1],[d]   nn.Linear (fan_in 1)
///     value_encoder.linear2.{weight,bias}       [d,d],[d]   nn.Linear
///     value_encoder.norm.{weight,bias}          [d]      LayerNorm
///     transformer_encoder.layers.N.
///         self_attn.Wqkv.{weight,bias}          [3d,d],[3d] nn.Linear (FlashscGPTMHA)
///         self_attn.out_proj.{weight,bias}      [d,d],[d]   nn.Linear
///         linear1.{weight,bias}                 [d_hid,d],[d_hid]
///         linear2.{weight,bias}                 [d,d_hid],[d]
///         norm1.{weight,bias}, norm2.{...}      [d]      LayerNorm
///     decoder.fc.{0,2}.{weight,bias}            [d,d],[d]   ExprDecoder's nn.Linear
///     decoder.fc.4.{weight,bias}                [1,d],[1]
///     mvc_decoder.gene2query.{weight,bias}      [d,d],[d]   MVCDecoder ("inner product")
///     mvc_decoder.W.weight                      [d,d]    nn.Linear without bias
///
/// nn.Linear(in, out): weight and bias U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with
/// a = sqrt(5), which gives exactly that bound). Wqkv and out_proj are plain nn.Linear in
/// scGPT's flash-attention layers, so they get the nn.Linear default, not
/// nn.MultiheadAttention's xavier / zero-bias initialisation.
///
/// **Random numbers.** Each tensor draws from its own stream, seeded from (seed, tensor
/// name) through SplitMix64 into xoshiro256** (core/random.hpp); uniforms have 53 bits,
/// normals come from Box-Muller. The values therefore follow PyTorch's distributions but are
/// not PyTorch's bits, and one tensor's values do not depend on any other tensor (or on the vocabulary
/// size, except the embedding itself).

#include "scextract/core/dense.hpp"
#include "scextract/core/tensor.hpp"
#include "scextract/io/gene_programs.hpp"
#include "scextract/model/scgpt_config.hpp"
#include "scextract/model/scgpt_weights.hpp"
#include "scextract/model/tokenized_cell.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace scx {

/// The architectures make-model offers. Every size has 8 heads and >= 3 layers, so the
/// default planted head 2:5 exists in all of them; head_dim is a multiple of 8 (flash-attn's
/// requirement) in all. head_dim bounds how many programs one head separates cleanly (the
/// head's readout directions are orthonormal only for programs <= head_dim), so the small
/// sizes keep head_dim at 16 and 32 rather than shrinking it further.
enum class ScGptSize {
    tiny,       ///< 3 layers, 8 heads, embsize 128 (head_dim 16), d_hid 128
    small,      ///< 4 layers, 8 heads, embsize 256 (head_dim 32), d_hid 256
    whole_human ///< 12 layers, 8 heads, embsize 512 (head_dim 64), d_hid 512: the real model
};

/// "tiny", "small", "whole-human".
const char* scgpt_size_name(ScGptSize size);
/// Parses a size name; throws scx::UsageError listing the valid ones.
ScGptSize parse_scgpt_size(const std::string& name);
/// The config of a size; everything but the four sizes is the whole-human args.json's
/// (n_bins 51, max_seq_len 1200, pad_value -2, mask_value -1, continuous value encoder).
ScGptConfig scgpt_size_config(ScGptSize size);

/// What init_scgpt_state_dict() builds.
struct ScGptInitOptions {
    std::uint64_t seed = 42; ///< seeds every tensor's stream
    /// Also emit the keys the encoder does not use but the whole-human checkpoint carries
    /// (flag_encoder, decoder, mvc_decoder).
    bool unused_modules = true;
};

/// A float32 scGPT state dict for @p config and a vocabulary of @p vocab_size tokens, keys
/// and initialisation as described in this file's comment. Throws scx::Error for a
/// non-positive size or a config whose heads do not divide embsize.
TensorMap init_scgpt_state_dict(const ScGptConfig& config, std::int64_t vocab_size, const ScGptInitOptions& options = {});

/// One attention head, 0-based.
struct AttentionHeadRef {
    std::int64_t layer = 0;
    std::int64_t head = 0;
    friend bool operator==(const AttentionHeadRef&, const AttentionHeadRef&) = default;
};

/// Parses "2:5,0:1" (layer:head, 0-based, comma separated). Throws scx::UsageError.
std::vector<AttentionHeadRef> parse_head_list(const std::string& text);

/// How plant_gene_programs() plants (see docs/planted_model.md).
struct ScGptPlantOptions {
    /// The heads to plant; at least one; each must exist in the config.
    std::vector<AttentionHeadRef> heads{{2, 5}};
    /// Target attention logit between two genes of one program, computed on their
    /// LayerNorm-ed gene embeddings (what layer 0 reads, without the value encoding).
    /// Deeper layers see it attenuated by the residual stream.
    double strength = 10.0;
    /// Cosine between a planted gene's LayerNorm-ed embedding and its program code (0, 1).
    double code_cosine = 0.6;
    /// Seeds the program codes and the heads' readout directions.
    std::uint64_t seed = 42;
    /// Programs with fewer genes in the vocabulary are reported and not planted.
    std::int64_t min_genes = 2;
};

/// One program as planted.
struct PlantedProgram {
    std::string name;
    std::vector<std::string> genes;   ///< genes found in the vocabulary (deduplicated, in given order)
    std::vector<std::string> missing; ///< genes not in the vocabulary
    bool planted = false;             ///< false when fewer than min_genes genes were found
};

/// What plant_gene_programs() changed.
struct ScGptPlantResult {
    std::vector<PlantedProgram> programs;  ///< in the order given
    std::vector<AttentionHeadRef> heads;   ///< planted heads, in the order given
    std::vector<std::string> tensors;      ///< names of the tensors that were modified
    std::int64_t n_programs = 0;           ///< programs planted (P)
    std::int64_t n_genes = 0;              ///< distinct embedding rows modified
    std::int64_t n_multi_program_genes = 0;///< genes in more than one planted program
    double strength = 0, code_cosine = 0;  ///< the options used
    double alpha = 0;                      ///< scale of the added query/key term
    double code_shift_mean = 0;            ///< mean |change| of a planted embedding row (L2)
    double measured_cosine_min = 0, measured_cosine_max = 0; ///< cos(LN(E'[g]), code_g) over planted genes
    bool codes_orthonormal = false;        ///< P <= embsize - 1: program codes exactly orthonormal
    bool readout_orthonormal = false;      ///< P <= head_dim: head readout directions exactly orthonormal
};

/// Plants @p programs into @p state (a state dict with scGPT key names, e.g. from
/// init_scgpt_state_dict()) so that the chosen heads attend within programs through
/// query/key structure on the gene embeddings. Exactly two kinds of change are made:
///  1. `encoder.embedding.weight`, rows of the planted genes only: each program p gets a
///     random unit code u_p (orthogonal to the all-ones vector, so LayerNorm's centring keeps
///     it; orthonormalised across programs when they fit); a gene's code c_g is the
///     normalised sum of its programs' codes; the row's component along c_g is set so that
///     cos(LN(row), c_g) = code_cosine, its other components left as they were.
///  2. `transformer_encoder.layers.L.self_attn.Wqkv.weight` of each planted head (L, h):
///     the head's query rows [h*dh, (h+1)*dh) and key rows [d + h*dh, d + (h+1)*dh) each get
///     alpha * R_h U^T added (U = [u_1..u_P], R_h a random dh x P matrix with orthonormal (or,
///     when P > dh, unit) columns), alpha = sqrt(strength * sqrt(dh)) / (code_cosine * sqrt(d)).
/// Nothing else is touched: biases, value rows, other heads and every other tensor keep
/// their values. @p vocab maps gene symbols to token ids (rows of the embedding).
/// Throws scx::Error for a missing or wrongly shaped tensor, a head outside the model, bad
/// options, or no program with min_genes genes in the vocabulary.
ScGptPlantResult plant_gene_programs(TensorMap& state, const ScGptConfig& config,
                                     const std::unordered_map<std::string, std::int64_t>& vocab,
                                     const std::vector<GeneProgram>& programs, const ScGptPlantOptions& options = {});

/// The programs each vocabulary id belongs to (indices into @p programs, sorted), for
/// measure_program_attention(); genes outside the vocabulary are ignored.
std::vector<std::vector<std::int32_t>> program_membership(const std::unordered_map<std::string, std::int64_t>& vocab,
                                                          std::int64_t vocab_size,
                                                          const std::vector<GeneProgram>& programs);

/// How make_program_probe_cells() builds cells.
struct ProgramProbeOptions {
    std::int64_t n_cells = 32;
    std::int64_t programs_per_cell = 3;     ///< distinct programs sampled per cell
    std::int64_t genes_per_program = 8;     ///< genes sampled from each (fewer if the program is smaller)
    std::int64_t background_genes = 40;     ///< genes outside every program added to each cell
    float value_min = 0.5F, value_max = 4.0F; ///< token values, uniform (log1p-like scale)
    std::uint64_t seed = 7;
};

/// Synthetic cells for checking a planting: each mixes genes of a few programs with
/// background genes (ids in no program, special tokens excluded), in random order, with
/// random values. @p membership as program_membership() returns it; @p special_ids are
/// never used.
std::vector<TokenizedCell> make_program_probe_cells(const std::vector<std::vector<std::int32_t>>& membership,
                                                    const std::vector<std::int64_t>& special_ids,
                                                    const ProgramProbeOptions& options = {});

/// Within-program attention of every head.
struct ProgramAttentionResult {
    /// [layer, head]: the mean, over query tokens that share a program with at least one other
    /// token of their cell, of the attention probability the query puts on those other tokens.
    RowMatrixD share;
    /// The same mean for uniform attention (count of such other tokens / cell length): chance.
    double chance = 0;
    std::int64_t n_queries = 0; ///< query tokens averaged over
};

/// Runs the forward pass on @p cells and measures ProgramAttentionResult::share for every
/// head (single-threaded unless @p threads > 1; the result does not depend on it).
ProgramAttentionResult measure_program_attention(const ScGptWeights& weights, const std::vector<TokenizedCell>& cells,
                                                 const std::vector<std::vector<std::int32_t>>& membership,
                                                 int threads = 1);

} // namespace scx
