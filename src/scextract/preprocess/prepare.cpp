#include "scextract/preprocess/prepare.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace scx {

const char* vocab_filter_name(VocabFilter f) { return f == VocabFilter::before_hvg ? "before_hvg" : "after_hvg"; }
const char* panel_order_name(PanelOrder o) { return o == PanelOrder::hvg_rank ? "hvg_rank" : "input"; }

HvgFlavor resolve_hvg_flavor(std::string_view name, bool normalized_input) {
    if (name == "seurat") return HvgFlavor::seurat;
    if (name == "auto") return normalized_input ? HvgFlavor::seurat : HvgFlavor::seurat_v3;
    if (name != "seurat_v3") throw UsageError(fmt::format("unknown HVG flavour '{}' (auto, seurat_v3, seurat)", name));
    if (normalized_input)
        throw UsageError("the seurat_v3 HVG flavour models raw counts, but the input is log-normalised; use the seurat "
                         "flavour (or auto)");
    return HvgFlavor::seurat_v3;
}

PrepareResult prepare_panel(const CsrMatrix& counts, const std::vector<std::string>& symbols, const GeneVocabulary* vocab,
                            const PrepareOptions& options, const std::string& what, const std::string& counts_hint) {
    if (static_cast<std::int64_t>(symbols.size()) != counts.n_cols)
        throw Error(fmt::format("{}: {} gene symbols for {} genes", what, symbols.size(), counts.n_cols));
    if (options.n_top_genes <= 0) throw UsageError(fmt::format("the panel size must be positive, got {}", options.n_top_genes));
    PrepareResult r;
    r.values = inspect_values(counts, {.threads = options.threads});
    if (options.normalized_input) {
        if (options.flavor == HvgFlavor::seurat_v3)
            throw UsageError(fmt::format("{}: the seurat_v3 HVG flavour needs raw counts; use seurat", what));
        if (r.values.kind == ValueKind::scaled || r.values.kind == ValueKind::non_finite)
            throw Error(fmt::format("{}: expected per-cell normalised values but found {}", what, r.values.describe()));
    } else {
        require_counts(r.values, what, counts_hint);
    }

    // normalize_total over all genes, before any gene is dropped (METHOD.md, cell feature)
    CsrMatrix lognorm = counts;
    r.cell_totals = normalize_total_in_place(lognorm, {.target_sum = options.target_sum, .threads = options.threads}).cell_totals;
    log1p_in_place(lognorm, options.threads);

    if (vocab) {
        r.alignment = align_genes(symbols, *vocab);
        if (r.alignment->positions.empty())
            throw Error(fmt::format("{}: none of the {} genes is in the model vocabulary (check the gene symbol column)", what,
                                    counts.n_cols));
    }
    if (vocab && options.vocab_filter == VocabFilter::before_hvg) {
        r.hvg_candidates = r.alignment->positions;
    } else {
        r.hvg_candidates.resize(static_cast<std::size_t>(counts.n_cols));
        std::iota(r.hvg_candidates.begin(), r.hvg_candidates.end(), std::int64_t{0});
    }

    const auto n_select = std::min<std::int64_t>(options.n_top_genes, static_cast<std::int64_t>(r.hvg_candidates.size()));
    HvgOptions hvg_options;
    hvg_options.flavor = options.flavor;
    hvg_options.n_top_genes = n_select;
    hvg_options.threads = options.threads;
    const bool all_genes = static_cast<std::int64_t>(r.hvg_candidates.size()) == counts.n_cols;
    const CsrMatrix& source = options.flavor == HvgFlavor::seurat_v3 ? counts : lognorm;
    r.hvg = all_genes ? highly_variable_genes(source, hvg_options)
                      : highly_variable_genes(select_columns(source, r.hvg_candidates), hvg_options);

    // hvg.selected is most variable first; map back to input positions
    for (auto k : r.hvg.selected) {
        const auto pos = r.hvg_candidates[static_cast<std::size_t>(k)];
        if (vocab && options.vocab_filter == VocabFilter::after_hvg && !vocab->contains(symbols[static_cast<std::size_t>(pos)]))
            continue;
        r.panel.push_back(pos);
    }
    if (r.panel.empty())
        throw Error(fmt::format("{}: no highly variable gene is in the model vocabulary; try --vocab-filter before_hvg", what));
    if (options.panel_order == PanelOrder::input) std::sort(r.panel.begin(), r.panel.end());
    if (vocab)
        for (auto pos : r.panel) r.panel_vocab_ids.push_back(vocab->at(symbols[static_cast<std::size_t>(pos)]));
    r.panel_log_normalized = select_columns(lognorm, r.panel);
    return r;
}

} // namespace scx
