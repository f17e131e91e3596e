#pragma once
/// @file mlp_probe_method.hpp
/// @brief The "frozen scGPT embeddings + MLP probe" baseline (METHOD.md): every cell is
/// embedded once by the frozen checkpoint's forward pass (mean over the cell's tokens; the
/// embedding cache, timed as prepare()), then per split one 3-layer MLP probe per task
/// (baselines/mlp_probe.hpp) is trained on the training cells with a ruler stage: depth
/// (the supervised pseudotime), stage, branch and each binary task.

#include "scextract/bench/bench_method.hpp"
#include "scextract/baselines/mlp_probe.hpp"
#include "scextract/model/embed.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// Options of MlpProbeMethod.
struct MlpProbeMethodOptions {
    std::string name;      ///< name in tables; empty: "scgpt_mlp"
    std::string model;     ///< scGPT checkpoint directory (args.json, vocab.json, weights)
    EmbedOptions embed = [] { ///< scGPT's tokenizer convention, mean pooling
        EmbedOptions o;
        o.pooling = EmbedPooling::mean;
        return o;
    }();
    /// Hidden widths 256 and 128: on the whole-human model's 512-D embeddings a probe has
    /// 512*256+256 + 256*128+128 + 128*c+c = 164,224 + 129 c parameters (164,353 for depth;
    /// METHOD.md: ~172k per task).
    MlpProbeOptions probe;
    std::int64_t min_binary_cells = 10; ///< as the linear readouts
};

/// The options of a "mlp_probe" method entry of a bench config: model (required; as written, a
/// relative path is the caller's to resolve), hidden (two positive widths), epochs, batch_size,
/// learning_rate, seed and max_tokens, each defaulting to MlpProbeMethodOptions'; the name is left
/// empty. @p where starts every error message (file and JSON path); throws scx::Error on a bad
/// value or an unknown key.
MlpProbeMethodOptions mlp_probe_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where);

/// What fit_predict_mlp_readouts() returns.
struct MlpReadoutFit {
    MethodPrediction prediction;  ///< pseudotime, stage, branch and binary scores of the test rows (no latent)
    std::int64_t parameters = 0;  ///< weights and biases of every probe
};

/// One MLP probe per task (depth, stage, branch, each trained binary task) fitted on
/// @p train_x, whose row i is cell @p train[i] (cells without a ruler stage are skipped),
/// and applied to @p test_x. Shared by the MLP-probe baseline and the ladder's MLP readout.
/// Throws scx::Error when @p train_x and @p train differ in size.
MlpReadoutFit fit_predict_mlp_readouts(const BenchCells& cells, std::span<const std::int64_t> train, const RowMatrixF& train_x,
                                      const RowMatrixF& test_x, const MlpProbeOptions& probe, std::int64_t min_binary_cells);

/// Frozen scGPT embeddings + one MLP probe per task.
class MlpProbeMethod final : public BenchMethod {
public:
    explicit MlpProbeMethod(MlpProbeMethodOptions options);
    /// name "scgpt_mlp", supervised pseudotime; trainable parameters of the last split's probes.
    [[nodiscard]] MethodInfo info() const override;
    /// Loads the checkpoint and embeds every cell (the cache). Throws scx::Error when the
    /// checkpoint cannot be read or no gene is in its vocabulary.
    void prepare(const BenchCells& cells, int threads) override;
    MethodPrediction run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                               std::span<const std::int64_t> test, int threads) override;

    /// The cached embeddings (cells x d), after prepare().
    [[nodiscard]] const RowMatrixF& embeddings() const { return embeddings_; }

private:
    MlpProbeMethodOptions options_;
    RowMatrixF embeddings_;
    std::int64_t parameters_ = -1;
};

} // namespace scx
