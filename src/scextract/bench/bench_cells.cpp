#include "scextract/bench/bench_cells.hpp"

#include "scextract/core/category_codes.hpp"
#include "scextract/core/error.hpp"
#include "scextract/preprocess/hvg.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace scx {

BenchCells make_bench_cells(const CsrMatrix& counts, std::vector<std::string> symbols, const Ruler& ruler,
                            std::string ruler_json, std::vector<std::string> labels,
                            const std::vector<std::string>& donors, const std::vector<std::string>& tissues,
                            const BenchCellsOptions& options) {
    const auto n = counts.n_rows;
    if (static_cast<std::int64_t>(symbols.size()) != counts.n_cols)
        throw Error(fmt::format("bench: {} gene symbols for {} columns", symbols.size(), counts.n_cols));
    if (static_cast<std::int64_t>(labels.size()) != n || static_cast<std::int64_t>(donors.size()) != n)
        throw Error(fmt::format("bench: {} cells but {} labels and {} donors", n, labels.size(), donors.size()));
    if (!tissues.empty() && static_cast<std::int64_t>(tissues.size()) != n)
        throw Error(fmt::format("bench: {} cells but {} tissues", n, tissues.size()));

    BenchCells c;
    c.counts = &counts;
    c.normalized_values = options.normalized_values;
    c.symbols = std::move(symbols);
    c.ruler = &ruler;
    c.ruler_json = std::move(ruler_json);
    c.labels = std::move(labels);
    c.stage = stages_of_labels(ruler, c.labels);
    c.branch.assign(static_cast<std::size_t>(n), -1);
    c.depth.assign(static_cast<std::size_t>(n), std::numeric_limits<double>::quiet_NaN());
    std::int64_t mapped = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const auto s = c.stage[i];
        if (s < 0) continue;
        ++mapped;
        const auto& stage = ruler.stages[s];
        c.depth[i] = static_cast<double>(stage.depth);
        const auto b = std::find(ruler.branches.begin(), ruler.branches.end(), stage.branch);
        c.branch[i] = b == ruler.branches.end() ? -1 : b - ruler.branches.begin();
    }
    if (mapped == 0) throw Error("bench: no cell label maps to a stage of the ruler");

    c.donor = codes_in_sorted_order(donors, &c.donor_names);
    if (static_cast<std::int64_t>(c.donor_names.size()) < options.min_donors)
        throw Error(fmt::format("bench: donor-holdout splits need at least {} donors, found {}", options.min_donors,
                                c.donor_names.size()));
    if (tissues.empty()) {
        c.tissue_names = {""};
        c.tissue.assign(static_cast<std::size_t>(n), 0);
    } else {
        c.tissue = codes_in_sorted_order(tissues, &c.tissue_names);
    }

    for (const auto& task : options.binary_tasks) {
        BinaryTaskLabels t{task.name, task.negative_class, task.positive_class, std::vector<std::int8_t>(static_cast<std::size_t>(n), -1)};
        std::vector<std::int8_t> side(ruler.stages.size(), -1);
        for (const auto& s : task.negative_stages)
            if (const auto k = ruler.stage_index(s); k >= 0) side[k] = 0;
        for (const auto& s : task.positive_stages)
            if (const auto k = ruler.stage_index(s); k >= 0) side[k] = 1;
        std::int64_t count[2] = {0, 0};
        for (std::int64_t i = 0; i < n; ++i) {
            if (c.stage[i] < 0) continue;
            t.label[i] = side[c.stage[i]];
            if (t.label[i] >= 0) ++count[t.label[i]];
        }
        if (count[0] > 0 && count[1] > 0) c.binary_tasks.push_back(std::move(t));
    }

    if (!options.panel.empty()) {
        c.panel = options.panel;
    } else {
        HvgOptions h;
        h.n_top_genes = std::min<std::int64_t>(options.panel_size, counts.n_cols);
        h.threads = options.threads;
        // seurat_v3 models raw counts; normalised input takes the seurat flavour on its log values
        if (options.normalized_values) h.flavor = HvgFlavor::seurat;
        const auto hvg = options.normalized_values
                             ? highly_variable_genes(log1p(normalize_total(counts, {.target_sum = 1e4, .threads = options.threads}),
                                                           options.threads),
                                                     h)
                             : highly_variable_genes(counts, h);
        for (const auto g : hvg.selected) c.panel.push_back(c.symbols[g]);
    }
    c.panel_match = match_panel(c.symbols, c.panel);
    if (c.panel_match.missing.size() == c.panel.size()) throw Error("bench: no panel gene is in the data");
    return c;
}

RowMatrixF bench_panel_expression(const BenchCells& cells, std::span<const std::int64_t> rows, int threads) {
    const auto sub = select_rows(*cells.counts, rows);
    return panel_expression(sub, cells.panel_match, {.target_sum = 1e4, .threads = threads}).x;
}

RowMatrixF bench_panel_counts(const BenchCells& cells, std::span<const std::int64_t> rows) {
    const auto& m = *cells.counts;
    std::vector<std::int64_t> panel_of(static_cast<std::size_t>(m.n_cols), -1); // data column -> panel gene
    for (std::size_t i = 0; i < cells.panel_match.column.size(); ++i)
        if (cells.panel_match.column[i] >= 0) panel_of[static_cast<std::size_t>(cells.panel_match.column[i])] = static_cast<std::int64_t>(i);
    RowMatrixF out = RowMatrixF::Zero(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(cells.panel_match.column.size()));
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto idx = m.row_indices(rows[r]);
        const auto val = m.row_values(rows[r]);
        for (std::size_t k = 0; k < idx.size(); ++k) {
            const auto g = panel_of[static_cast<std::size_t>(idx[k])];
            if (g >= 0) out(static_cast<Eigen::Index>(r), g) = val[k];
        }
    }
    return out;
}

} // namespace scx
