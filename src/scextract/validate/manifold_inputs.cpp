#include "scextract/validate/manifold_inputs.hpp"

#include "scextract/core/category_codes.hpp"
#include "scextract/core/error.hpp"
#include "scextract/extract/panel_features.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace scx {

ManifoldData manifold_data(const FeatureOperator& features, double target_sum, const AlgorithmTrainingData& data,
                           const Ruler& ruler, int threads, std::int64_t* unmapped_cells) {
    if (data.counts == nullptr) throw Error("validate: no counts");
    const auto& counts = *data.counts;
    const auto n = counts.n_rows;
    if (static_cast<std::int64_t>(data.symbols.size()) != counts.n_cols)
        throw Error(fmt::format("validate: {} gene symbols for {} genes", data.symbols.size(), counts.n_cols));
    if (static_cast<std::int64_t>(data.labels.size()) != n || static_cast<std::int64_t>(data.donors.size()) != n ||
        (!data.tissues.empty() && static_cast<std::int64_t>(data.tissues.size()) != n))
        throw Error("validate: labels, donors and tissues need one entry per cell");
    const auto stage = stages_of_labels(ruler, data.labels);
    std::vector<std::int64_t> on;
    for (std::int64_t i = 0; i < n; ++i)
        if (stage[i] >= 0) on.push_back(i);
    if (unmapped_cells) *unmapped_cells = n - static_cast<std::int64_t>(on.size());
    if (on.empty()) throw Error("validate: no cell-type label maps to a stage of the ruler (check --label-key and the ruler)");

    std::vector<std::string> donors, tissues, labels;
    ManifoldData m;
    for (const auto i : on) {
        donors.push_back(data.donors[i]);
        tissues.push_back(data.tissues.empty() ? std::string() : data.tissues[i]);
        labels.push_back(data.labels[i]);
        m.stage.push_back(stage[i]);
    }
    m.donor = codes_in_sorted_order(donors);
    m.tissue = codes_in_sorted_order(tissues);
    m.label = codes_in_sorted_order(labels);
    const auto match = match_panel(data.symbols, features.genes);
    const CsrMatrix cells = static_cast<std::int64_t>(on.size()) == n ? counts : select_rows(counts, on);
    const auto expr = panel_expression(cells, match, {.target_sum = target_sum, .threads = threads});
    m.features = features.apply(expr.x, threads);
    return m;
}

} // namespace scx
