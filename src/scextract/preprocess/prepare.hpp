#pragma once
/// @file prepare.hpp
/// @brief The preprocessing every later stage starts from: check that the matrix
/// holds counts, log-normalise (normalize_total over all genes, then log1p),
/// choose a highly variable gene panel and align it to a model vocabulary.
///
/// METHOD.md leaves three panel details open; each is an option here with a
/// documented default: the HVG flavour, whether vocabulary filtering happens
/// before HVG selection (exactly n_top_genes genes) or after (possibly fewer),
/// and the panel order.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/preprocess/gene_alignment.hpp"
#include "scextract/preprocess/hvg.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scx {

/// When genes missing from the vocabulary are dropped.
enum class VocabFilter {
    before_hvg, ///< select HVGs among vocabulary genes only: the panel has exactly n_top_genes genes (default)
    after_hvg,  ///< select HVGs among all genes, then drop those not in the vocabulary (possibly fewer)
};

/// Order of the genes in the panel (part of any operator built on it).
enum class PanelOrder {
    hvg_rank, ///< most variable first (default)
    input,    ///< the order of the input's var
};

const char* vocab_filter_name(VocabFilter f);
const char* panel_order_name(PanelOrder o);

/// Options of prepare_panel().
struct PrepareOptions {
    HvgFlavor flavor = HvgFlavor::seurat_v3; ///< on counts (seurat_v3) or on the log-normalised values (seurat)
    std::int64_t n_top_genes = 1200;         ///< panel size (METHOD.md default)
    double target_sum = 1e4;                 ///< normalize_total target
    VocabFilter vocab_filter = VocabFilter::before_hvg;
    PanelOrder panel_order = PanelOrder::hvg_rank;
    int threads = 0; ///< <= 0: all cores; results do not depend on it
    /// The matrix holds per-cell normalised values (expm1 of log-normalised input,
    /// preprocess/input_values.hpp) rather than counts: no count check, and the seurat_v3
    /// flavour, which models raw counts, is refused.
    bool normalized_input = false;
};

/// The HVG flavour named @p name ("seurat_v3", "seurat", or "auto": seurat_v3 on counts,
/// seurat on log-normalised input). Throws UsageError for seurat_v3 on normalised input,
/// naming the flavour that works.
HvgFlavor resolve_hvg_flavor(std::string_view name, bool normalized_input);

/// Everything prepare_panel() decided, for reports and provenance.
struct PrepareResult {
    MatrixValueReport values;          ///< what the input matrix holds
    std::vector<float> cell_totals;    ///< per-cell totals before normalisation
    std::optional<GeneAlignment> alignment; ///< all input genes against the vocabulary, when one was given
    std::vector<std::int64_t> hvg_candidates; ///< input positions HVG selection ran on
    HvgResult hvg;                     ///< statistics over hvg_candidates (indices into that list)
    std::vector<std::int64_t> panel;   ///< input positions of the panel genes, in panel order
    std::vector<std::int64_t> panel_vocab_ids; ///< vocabulary id per panel gene (empty without vocabulary)
    CsrMatrix panel_log_normalized;    ///< cells x panel: log1p(normalize_total(counts)) on the panel
};

/// Runs the preprocessing on a cells x genes counts matrix. @p symbols are the
/// gene symbols used for vocabulary matching; @p vocab may be null (no model
/// vocabulary: every gene is a candidate). @p what names the matrix in errors and
/// @p counts_hint says where counts can be found (appended to the error when the
/// matrix is not counts).
PrepareResult prepare_panel(const CsrMatrix& counts, const std::vector<std::string>& symbols, const GeneVocabulary* vocab,
                            const PrepareOptions& options, const std::string& what, const std::string& counts_hint);

} // namespace scx
