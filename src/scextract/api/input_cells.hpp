#pragma once
/// @file input_cells.hpp
/// @brief Reading cells the way every front-end does: where the counts are, which var
/// column holds gene symbols, the per-cell annotations a fit needs. The CLI and the Python
/// package both come here, so a file is read the same way whichever one a user runs.

#include "scextract/core/messages.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/preprocess/input_values.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <memory>
#include <string>
#include <vector>

namespace scx {

/// Where counts may be found, for the error when the chosen matrix holds none:
/// the file's other layers, raw.X, or X when a layer or raw was chosen.
std::string counts_hint(const Dataset& d, const std::string& layer, bool raw);

/// Decides what the chosen matrix of @p d (read from @p path with @p layer / @p raw) holds
/// (preprocess/input_values.hpp) and notes the verdict on @p messages. Throws scx::Error naming
/// the file and matrix, with where else counts may be, for what is neither counts nor
/// recoverable log-normalised values.
InputValues resolve_dataset_values(const Dataset& d, const InputValuesOptions& options, const std::string& path,
                                   const std::string& layer, bool raw, int threads, const MessageSink& messages);

/// resolve_dataset_values(), then makes d.matrix what the method reads: counts stay,
/// log-normalised values become their expm1. d then no longer holds the file's values, so a
/// command that writes the input back uses method_matrix() instead.
InputValues take_input_values(Dataset& d, const InputValuesOptions& options, const std::string& path,
                              const std::string& layer, bool raw, int threads, const MessageSink& messages);

/// What the method reads of @p d under @p input, leaving @p d as read: d.matrix itself for
/// counts, or an expm1 copy kept in @p storage for log-normalised values.
const CsrMatrix& method_matrix(const Dataset& d, const InputValues& input, CsrMatrix& storage, int threads);

/// Gene symbols of @p d: var_names, or a symbol column when var_names are Ensembl ids,
/// or @p force_column. Notes on @p messages which was used.
std::vector<std::string> dataset_gene_symbols(const Dataset& d, const std::string& input, const std::string& force_column,
                                              const MessageSink& messages);

/// obs[@p key] of @p d as strings; a usage error naming @p option and listing the obs
/// columns when the column is absent.
std::vector<std::string> obs_strings(const Dataset& d, const std::string& key, const std::string& input, const char* option);

/// The donors of the cells and, when fewer than two stand behind them, why and what stands in.
struct CellDonors {
    std::vector<std::string> donors; ///< one per cell
    std::string note;                ///< empty with two or more donors (warned otherwise)
};

/// obs[@p donor_key] of @p d ("none": the data has no donor column; @p option names the key in
/// messages, e.g. "--donor-key"). With fewer than two distinct donors and @p folds >= 2, seeded
/// folds stratified by @p labels stand in for donors (stats/cell_folds.hpp); -1 takes as many
/// (2 to 10) as leave about 10 cells of a label per fold; 0 leaves every cell with the one
/// donor. The note is warned on @p messages, naming @p path.
CellDonors cell_donors(const Dataset& d, const std::string& path, const std::string& donor_key, const char* option,
                       const std::vector<std::string>& labels, std::int64_t folds, std::uint64_t seed,
                       const MessageSink& messages);

/// The labels of obs[@p key] of the file at @p path (missing entries dropped) with their cell
/// counts, in first-seen order; only obs is read from an .h5ad. Throws scx::Error naming the
/// file and listing the obs columns when the column is absent.
std::vector<std::pair<std::string, std::int64_t>> obs_label_counts(const std::string& path, const std::string& key);

/// Reference cells to fit on: the file, the matrix in it, and the obs columns to use.
struct ReferenceCellsOptions {
    std::string path;                  ///< .h5ad, 10x or CSV with raw counts
    std::string label_key = "cell_type";
    std::string donor_key = "donor";   ///< "none": the data has no donor column
    std::string tissue_key;            ///< empty: one tissue
    std::string layer;                 ///< counts from this layer instead of X
    bool raw = false;                  ///< counts from raw.X
    std::string gene_column;           ///< var column with symbols (empty: automatic)
    int threads = 0;                   ///< for the count check
    InputValuesOptions input;          ///< counts or log-normalised (default: detected)
    /// With no donor column (donor_key "none") or a single donor: >= 2 deals the cells into
    /// this many seeded label-stratified folds that stand in for donors, with a warning
    /// (stats/cell_folds.hpp); -1 as many (2 to 10) as leave about 10 cells of a label per
    /// fold on average, so fold x label groups can be anchors; 0 leaves every cell with the
    /// one donor.
    std::int64_t cell_folds = 0;
};

/// The dataset and the per-cell annotations; data.counts points into dataset.
struct ReferenceCells {
    Dataset dataset;
    InputValues input; ///< what the file held; dataset.matrix is now what the method reads
    /// Empty with two or more donors; otherwise why there are none and what stands in
    /// (cell folds or one donor), as warned.
    std::string donor_note;
    AlgorithmTrainingData data;
};

/// Reads the reference cells, checks they are counts or log-normalised (take_input_values) and collects symbols, labels,
/// donors and tissues (usage error naming the obs columns when a key is absent).
std::unique_ptr<ReferenceCells> read_reference_cells(const ReferenceCellsOptions& options, const MessageSink& messages);

} // namespace scx
