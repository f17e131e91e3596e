#pragma once
/// @file algorithm_pipeline.hpp
/// @brief Fitting an extracted algorithm on reference cells (features -> standardiser ->
/// Stage 2 adaptor -> Stage 3 readouts) and applying it to new cells, with no model.

#include "scextract/adapt/adaptor.hpp"
#include "scextract/core/algorithm.hpp"
#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/core/row_block_reader.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/extract/panel_features.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scx {

/// Training cells: raw counts and per-cell annotations.
struct AlgorithmTrainingData {
    const CsrMatrix* counts = nullptr;  ///< cells x genes, raw counts
    std::vector<std::string> symbols;   ///< gene symbol of each column
    std::vector<std::string> labels;    ///< cell-type label per cell (mapped to stages by the ruler)
    std::vector<std::string> donors;    ///< donor per cell
    std::vector<std::string> tissues;   ///< tissue per cell, or empty (one tissue)
};

/// A binary readout defined on ruler stages: cells of @p negative_stages are 0, of
/// @p positive_stages 1. Trained only when each side has at least min_binary_cells cells.
struct BinaryTask {
    std::string name;
    std::string negative_class, positive_class;
    std::vector<std::string> negative_stages, positive_stages;
};

/// CD4 vs CD8 T cells and monocytes vs macrophages on the default hematopoiesis ruler.
std::vector<BinaryTask> default_binary_tasks();

struct AlgorithmFitOptions {
    /// The cell-trained adaptor: the paper's winning variant, and the one nested selection on
    /// training donors chose on the planted bed (docs/adaptor.md, "The ladder").
    AdaptorOptions adaptor = adaptor_options(AdaptorVariant::cell);
    double target_sum = 1e4;
    std::int64_t min_anchor_cells = 5;     ///< METHOD.md: anchors are groups of >= 5 cells
    std::int64_t max_cells_per_stage = 500; ///< cell / hybrid variants: stage balancing
    std::vector<BinaryTask> binary_tasks = default_binary_tasks();
    std::int64_t min_binary_cells = 10;
    int threads = 0;
};

/// What one readout learnt, for the report.
struct ReadoutSummary {
    std::string task;
    std::int64_t parameters = 0;
    std::int64_t training_rows = 0;
    double training_score = 0; ///< R^2 for depth, accuracy for classifiers
};

struct AlgorithmFitResult {
    Algorithm algorithm;
    std::int64_t n_cells = 0;
    std::int64_t n_on_ruler = 0;            ///< cells whose label maps to a stage (used for fitting)
    std::vector<std::string> unmapped_labels;
    std::vector<std::string> missing_panel_genes;
    std::int64_t adaptor_rows = 0;          ///< anchors, or balanced cells
    std::int64_t adaptor_parameters = 0;
    double adaptor_loss = 0;
    std::vector<ReadoutSummary> readouts;
    std::vector<std::string> skipped_tasks; ///< binary tasks without enough cells, with why
};

/// Per-row annotations of Stage 2's input rows (one entry per feature row).
struct AdaptorRowLabels {
    std::vector<std::int64_t> stage;  ///< ruler stage, >= 0
    std::vector<std::string> donors;  ///< anchors group by donor x tissue x label
    std::vector<std::string> tissues; ///< "" for one tissue
    std::vector<std::string> labels;
};

/// What fit_algorithm_adaptor() returns.
struct AlgorithmAdaptorFit {
    AdaptorFitResult fit;
    std::int64_t rows = 0; ///< anchors, or stage-balanced cells
};

/// Stage 2 of fit_algorithm(): the adaptor of options.adaptor.variant on standardised
/// @p features of cells on the ruler - anchors (donor x tissue x label means of at least
/// min_anchor_cells cells) or at most max_cells_per_stage seeded cells per stage. Throws
/// scx::Error on sizes that disagree, and for the anchor variant when the cells come from a
/// single donor or give fewer than two anchors.
AlgorithmAdaptorFit fit_algorithm_adaptor(const RowMatrixF& features, const AdaptorRowLabels& rows,
                                          const Eigen::MatrixXd& stage_distance, const AlgorithmFitOptions& options);

/// Fits every part after the feature operator. Throws scx::Error when no label maps to the
/// ruler, fewer than two stages are present, or the inputs disagree in size.
AlgorithmFitResult fit_algorithm(const FeatureOperator& features, const Ruler& ruler, const std::string& ruler_json,
                                 const AlgorithmTrainingData& data, const AlgorithmFitOptions& options);

/// Rows per block of apply's arithmetic (the feature operator's row block). Streamed chunks
/// start on multiples of it, so every row meets the same products whatever the chunk size.
inline constexpr std::int64_t kApplyRowBlock = 256;

struct AlgorithmApplyOptions {
    /// Refuse input missing more than this fraction of the panel (the rest are zero-filled).
    double max_missing_fraction = 0.5;
    /// Cells per chunk of the streamed apply, rounded up to a multiple of kApplyRowBlock.
    /// Memory grows with it (one chunk of counts, the next one read ahead, and the chunk's
    /// outputs), never with the number of cells; results do not depend on it.
    std::int64_t chunk_rows = 20000;
    int threads = 0;
    /// Form every cell's D features and run the adaptor on them, as fit does. By default an
    /// algorithm whose blocks are all low rank or sparse factors is applied through its folded
    /// plan (readout/apply_plan.hpp), which equals this in exact arithmetic and differs only
    /// by rounding; algorithms with a dense block always take this path.
    bool exact_features = false;
    /// Called with each chunk as read and its first row before the chunk is used: checks what
    /// it holds and may turn it into counts-equivalent values in place (expm1 of log-normalised
    /// input, preprocess/input_values.hpp); may throw to stop. May be empty.
    std::function<void(CsrMatrix& chunk, std::int64_t first_row)> prepare_block;
    /// Called with (cells done, cells total) after each chunk. May be empty.
    ProgressCallback progress;
};

/// Per-cell outputs of apply.
struct AlgorithmApplyResult {
    RowMatrixF latent;                         ///< cells x k
    Eigen::VectorXd depth;                     ///< depth readout (the pseudotime); empty when absent
    std::vector<std::string> branch, stage;    ///< predicted classes; empty when absent
    std::vector<std::pair<std::string, Eigen::VectorXd>> probabilities; ///< binary task -> P(positive class)
    Eigen::VectorXf reconstruction_error;      ///< tied autoencoder error per cell (OOD signal)
    std::vector<float> detected_fraction;      ///< panel genes detected per cell
    PanelMatch panel;                          ///< which panel genes the input lacked (empty in streamed chunks)
};

/// Where the algorithm's panel genes sit among @p symbols. Throws scx::Error when more than
/// options.max_missing_fraction of the panel is missing.
PanelMatch match_algorithm_panel(const Algorithm& algorithm, const std::vector<std::string>& symbols,
                                 const AlgorithmApplyOptions& options);

/// Receives the outputs of cells [first_row, first_row + chunk.latent.rows()), in row order.
/// The chunk may be moved from.
using AlgorithmApplySink = std::function<void(std::int64_t first_row, AlgorithmApplyResult& chunk)>;

/// The Stage 2 adaptor an algorithm file carries (W, b, beta), ready to encode.
Adaptor algorithm_adaptor(const Algorithm& algorithm);

/// Every readout of an algorithm on some cells' latent, with the class probabilities that
/// apply reduces to labels (interpretation and perturbation compare them before and after).
struct AlgorithmReadoutScores {
    Eigen::VectorXd depth;                         ///< depth readout; empty when absent
    std::vector<std::string> branch_classes, stage_classes;
    RowMatrixD branch_probability, stage_probability; ///< cells x classes (softmax); empty when absent
    std::vector<std::pair<std::string, Eigen::VectorXd>> probabilities; ///< binary task -> P(positive class)
};

/// The readouts of @p algorithm on latent @p z (cells x k), the same W z + b as apply.
AlgorithmReadoutScores score_algorithm_readouts(const Algorithm& algorithm, const RowMatrixF& z);

/// Stages 2 and 3 of @p algorithm on features it did not compute itself (cells x D, before
/// standardising), e.g. an operator with some factors removed: standardiser, adaptor and
/// readouts frozen. Row-parallel over @p threads; the result does not depend on them.
struct AlgorithmFeatureOutputs {
    RowMatrixF latent;                  ///< cells x k
    Eigen::VectorXf reconstruction_error;
    AlgorithmReadoutScores readouts;
};
AlgorithmFeatureOutputs apply_algorithm_to_features(const Algorithm& algorithm, RowMatrixF features, int threads = 1);

/// Applies @p algorithm to raw counts streamed from @p counts (columns named by @p symbols),
/// options.chunk_rows cells at a time, handing each chunk's outputs to @p sink. The next chunk
/// is read while this one is computed; the reader and the sink are never called at the same
/// time, so both may use HDF5. Peak memory depends on the chunk size, not on the number of
/// cells, and the outputs are the same bits for every chunk size and thread count.
/// Returns the panel match.
PanelMatch apply_algorithm_streamed(const Algorithm& algorithm, RowBlockReader& counts,
                                    const std::vector<std::string>& symbols, const AlgorithmApplyOptions& options,
                                    const AlgorithmApplySink& sink);

/// Applies @p algorithm to every row of @p counts: the streamed apply with the chunks
/// gathered in memory (same bits as the streamed outputs).
AlgorithmApplyResult apply_algorithm(const Algorithm& algorithm, RowBlockReader& counts,
                                     const std::vector<std::string>& symbols, const AlgorithmApplyOptions& options);

/// Applies @p algorithm to raw @p counts whose columns are named by @p symbols: the streamed
/// apply over the matrix in memory, with the chunks gathered (same bits).
AlgorithmApplyResult apply_algorithm(const Algorithm& algorithm, const CsrMatrix& counts,
                                     const std::vector<std::string>& symbols, const AlgorithmApplyOptions& options);

} // namespace scx
