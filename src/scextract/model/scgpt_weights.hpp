#pragma once
/// @file scgpt_weights.hpp
/// @brief The scGPT parameters the forward pass uses, in fp32, checked against the config.
///
/// Built from a TensorMap (PyTorch state dict or safetensors) by
/// scgpt_weights_from_tensors(): wrappers ({'model_state_dict': ...}) are unwrapped
/// by the loader; here 'module.' prefixes are stripped, both `self_attn.Wqkv.*`
/// (flash-attn naming) and `self_attn.in_proj_weight / in_proj_bias`
/// (nn.MultiheadAttention naming) are accepted, unused keys (decoder, mvc_decoder,
/// counters) are dropped and reported, missing keys are named in the error, and
/// NaN / Inf weights are refused.

#include "scextract/core/dense.hpp"
#include "scextract/core/tensor.hpp"
#include "scextract/model/scgpt_config.hpp"

#include <string>
#include <vector>

namespace scx {

using VectorF = Eigen::VectorXf;

/// One post-norm encoder layer (torch.nn.TransformerEncoderLayer, norm_first=False).
struct ScGptLayerWeights {
    RowMatrixF Wqkv;  ///< [3d, d]: Q rows, then K, then V (nn.MultiheadAttention in_proj layout)
    VectorF bqkv;     ///< [3d]
    RowMatrixF Wo;    ///< [d, d] out_proj.weight
    VectorF bo;       ///< [d]
    RowMatrixF W1;    ///< [d_hid, d] linear1.weight
    VectorF b1;       ///< [d_hid]
    RowMatrixF W2;    ///< [d, d_hid] linear2.weight
    VectorF b2;       ///< [d]
    VectorF norm1_w, norm1_b, norm2_w, norm2_b; ///< [d] each
};

/// Every parameter of the encoder scGPT's embeddings and attention depend on.
struct ScGptWeights {
    ScGptConfig config;
    RowMatrixF gene_embedding;      ///< [vocab, d] encoder.embedding.weight
    VectorF enc_norm_w, enc_norm_b; ///< [d] encoder.enc_norm
    // continuous value encoder: v = LN(W2 relu(W1 min(x, max_value) + b1) + b2)
    RowMatrixF value_W1; ///< [d, 1] value_encoder.linear1.weight
    VectorF value_b1;    ///< [d]
    RowMatrixF value_W2; ///< [d, d] value_encoder.linear2.weight
    VectorF value_b2;    ///< [d]
    VectorF value_norm_w, value_norm_b; ///< [d] value_encoder.norm
    std::vector<ScGptLayerWeights> layers;
};

/// What scgpt_weights_from_tensors() did with the keys it was given.
struct ScGptWeightsReport {
    std::vector<std::string> unused_keys; ///< keys present but not needed (listed with --verbose)
    std::string attention_naming;         ///< "Wqkv" or "in_proj"
    bool stripped_module_prefix = false;
    std::int64_t n_parameters = 0;        ///< elements of the tensors used
};

/// Builds fp32 weights from named tensors; @p vocab_size is the number of rows
/// the gene embedding must have (the vocabulary's size). Throws scx::Error
/// naming @p what and the offending key.
ScGptWeights scgpt_weights_from_tensors(const TensorMap& tensors, const ScGptConfig& config, std::int64_t vocab_size,
                                        const std::string& what, ScGptWeightsReport* report = nullptr);

/// The same, consuming @p tensors: each storage is freed as soon as the tensors that
/// share it are converted, so loading never holds every storage and every fp32 weight
/// at once (the peak is the storages plus the largest weight, not twice the model).
ScGptWeights scgpt_weights_from_tensors(TensorMap&& tensors, const ScGptConfig& config, std::int64_t vocab_size,
                                        const std::string& what, ScGptWeightsReport* report = nullptr);

} // namespace scx
