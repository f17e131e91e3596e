#include "scextract/preprocess/lr_ruler.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/shortest_paths.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

CellTypeDetection detection_by_cell_type(const CsrMatrix& counts, const std::vector<std::string>& symbols,
                                         const std::vector<std::string>& labels) {
    if (static_cast<std::int64_t>(symbols.size()) != counts.n_cols)
        throw Error(fmt::format("ligand-receptor ruler: {} gene symbols for {} columns", symbols.size(), counts.n_cols));
    if (static_cast<std::int64_t>(labels.size()) != counts.n_rows)
        throw Error(fmt::format("ligand-receptor ruler: {} labels for {} cells", labels.size(), counts.n_rows));
    CellTypeDetection d;
    d.genes = symbols;
    std::map<std::string, std::int64_t> index;
    std::vector<std::int64_t> type(labels.size(), -1);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i].empty()) continue;
        const auto [it, fresh] = index.emplace(labels[i], static_cast<std::int64_t>(d.cell_types.size()));
        if (fresh) d.cell_types.push_back(labels[i]), d.n_cells.push_back(0);
        type[i] = it->second;
        ++d.n_cells[static_cast<std::size_t>(it->second)];
    }
    if (d.cell_types.empty()) throw Error("ligand-receptor ruler: no cell has a cell-type label");
    d.fraction = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d.cell_types.size()), counts.n_cols);
    for (std::int64_t r = 0; r < counts.n_rows; ++r) {
        if (type[r] < 0) continue;
        const auto v = counts.row_values(r);
        const auto c = counts.row_indices(r);
        for (std::size_t k = 0; k < v.size(); ++k)
            if (v[k] != 0) d.fraction(type[r], c[k]) += 1;
    }
    for (Eigen::Index t = 0; t < d.fraction.rows(); ++t) d.fraction.row(t) /= static_cast<double>(d.n_cells[t]);
    return d;
}

namespace {

/// Whether each kept type expresses a unit (a gene or a complex of genes): every subunit at
/// or above the threshold. Empty when a subunit is not a column of the data.
std::vector<char> expressed(const std::vector<std::string>& genes, const std::unordered_map<std::string, Eigen::Index>& column,
                            const CellTypeDetection& d, const std::vector<Eigen::Index>& kept, double min_fraction) {
    std::vector<char> out(kept.size(), 1);
    for (const auto& g : genes) {
        const auto it = column.find(g);
        if (it == column.end()) return {};
        for (std::size_t t = 0; t < kept.size(); ++t) out[t] &= d.fraction(kept[t], it->second) >= min_fraction ? 1 : 0;
    }
    return out;
}

} // namespace

LrRulerResult build_lr_ruler(const LrResource& resource, const CellTypeDetection& d, const LrRulerOptions& o) {
    if (!(o.min_fraction > 0 && o.min_fraction <= 1))
        throw Error(fmt::format("ligand-receptor ruler: the detection threshold {} is not in (0, 1]", o.min_fraction));
    if (o.branches < 1) throw Error("ligand-receptor ruler: it needs at least one branch");
    LrRulerResult res;
    std::vector<Eigen::Index> kept;
    for (std::size_t t = 0; t < d.cell_types.size(); ++t)
        if (d.n_cells[t] >= o.min_cells) kept.push_back(static_cast<Eigen::Index>(t));
        else res.dropped_types.push_back(fmt::format("{} ({} cells)", d.cell_types[t], d.n_cells[t]));
    if (kept.size() < 2)
        throw Error(fmt::format("ligand-receptor ruler: {} cell type(s) have >= {} cells; a ruler needs two", kept.size(), o.min_cells));
    const auto n = static_cast<std::int64_t>(kept.size());

    std::unordered_map<std::string, Eigen::Index> column;
    for (std::size_t g = 0; g < d.genes.size(); ++g) column.emplace(d.genes[g], static_cast<Eigen::Index>(g)); // first of duplicates
    res.pair_counts = Eigen::MatrixXi::Zero(n, n);
    for (const auto& p : resource.pairs) {
        const auto lig = expressed(p.ligand_genes, column, d, kept, o.min_fraction);
        const auto rec = expressed(p.receptor_genes, column, d, kept, o.min_fraction);
        if (lig.empty() || rec.empty()) continue;
        ++res.pairs_in_data;
        bool links = false;
        for (std::int64_t a = 0; a < n; ++a)
            for (std::int64_t b = a + 1; b < n; ++b)
                if ((lig[a] && rec[b]) || (lig[b] && rec[a])) {
                    ++res.pair_counts(a, b), ++res.pair_counts(b, a);
                    links = true;
                }
        res.pairs_linking += links;
    }
    if (res.pairs_in_data == 0)
        throw Error(fmt::format("ligand-receptor ruler: no pair of {} has all its genes among the data's {} gene symbols "
                                "(human symbols expected, e.g. CXCL12)",
                                resource.source, d.genes.size()));
    const auto name = [&](std::int64_t s) { return d.cell_types[static_cast<std::size_t>(kept[s])]; };
    std::vector<std::string> lonely;
    for (std::int64_t a = 0; a < n; ++a)
        if (res.pair_counts.row(a).sum() == 0) lonely.push_back(name(a));
    if (!lonely.empty())
        throw Error(fmt::format("ligand-receptor ruler: cell type(s) {} share no ligand-receptor pair with any other type at "
                                "detection >= {:g}; lower --min-fraction or leave them out",
                                fmt::join(lonely, ", "), o.min_fraction));

    WeightedAdjacency adj(static_cast<std::size_t>(n)), hops(static_cast<std::size_t>(n));
    for (std::int64_t a = 0; a < n; ++a)
        for (std::int64_t b = 0; b < n; ++b)
            if (a != b && res.pair_counts(a, b) > 0) {
                adj[a].push_back({b, 1.0 / std::sqrt(static_cast<double>(res.pair_counts(a, b)))});
                hops[a].push_back({b, 1.0});
            }
    const auto component = connected_components(adj);
    if (const auto n_comp = *std::max_element(component.begin(), component.end()) + 1; n_comp > 1) {
        std::vector<std::string> parts;
        for (std::int64_t c = 0; c < n_comp; ++c) {
            std::vector<std::string> members;
            for (std::int64_t a = 0; a < n; ++a)
                if (component[a] == c) members.push_back(name(a));
            parts.push_back(fmt::format("{{{}}}", fmt::join(members, ", ")));
        }
        throw Error(fmt::format("ligand-receptor ruler: the interaction graph falls into {} parts with no pair between them: {}",
                                n_comp, fmt::join(parts, " ")));
    }
    const Eigen::MatrixXd dist = all_shortest_paths(adj);
    const Eigen::MatrixXd hop = all_shortest_paths(hops);

    // root: the best-connected type (most linking pairs; first on ties)
    std::int64_t root = 0;
    for (std::int64_t a = 1; a < n; ++a)
        if (res.pair_counts.row(a).sum() > res.pair_counts.row(root).sum()) root = a;
    std::vector<std::int64_t> centres{root};
    const auto n_branches = std::min(o.branches, n);
    while (static_cast<std::int64_t>(centres.size()) < n_branches) {
        std::int64_t best = -1;
        double best_d = -1;
        for (std::int64_t a = 0; a < n; ++a) {
            double m = std::numeric_limits<double>::infinity();
            for (const auto c : centres) m = std::min(m, dist(a, c));
            if (m > best_d) best_d = m, best = a;
        }
        centres.push_back(best);
    }
    Ruler& r = res.ruler;
    r.name = o.name;
    r.description = fmt::format(
        "Ligand-receptor interaction-path distances between {} cell types: a type expresses a gene when >= {:g} of its cells "
        "detect it (a complex: every subunit); n(a, b) = resource pairs with the ligand on one type and the receptor on the "
        "other; edge length 1/sqrt(n(a, b)); distance = shortest path. {} of {} pairs have all genes in the data, {} link two types.",
        n, o.min_fraction, res.pairs_in_data, resource.pairs.size(), res.pairs_linking);
    r.sources = {resource.source};
    for (const auto c : centres) r.branches.push_back("lr_" + name(c));
    r.root = name(root);
    for (std::int64_t a = 0; a < n; ++a) {
        std::size_t nearest = 0;
        for (std::size_t c = 1; c < centres.size(); ++c)
            if (dist(a, centres[c]) < dist(a, centres[nearest])) nearest = c;
        r.stages.push_back({.name = name(a),
                            .depth = static_cast<std::int64_t>(std::llround(hop(root, a))),
                            .branch = r.branches[nearest],
                            .description = fmt::format("{} cells; linked to {} other type(s) by {} pair(s) in all",
                                                       d.n_cells[static_cast<std::size_t>(kept[a])],
                                                       (res.pair_counts.row(a).array() > 0).count(), res.pair_counts.row(a).sum())});
        r.labels.emplace_back(name(a), a);
        for (std::int64_t b = a + 1; b < n; ++b)
            if (res.pair_counts(a, b) > 0) r.edges.emplace_back(a, b);
    }
    r.explicit_distances = dist;
    const auto check = check_ruler(r);
    if (!check.ok) throw Error(fmt::format("ligand-receptor ruler: the ruler fails its check: {}", fmt::join(check.errors, "; ")));
    return res;
}

} // namespace scx
