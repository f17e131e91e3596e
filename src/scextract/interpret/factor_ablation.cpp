#include "scextract/interpret/factor_ablation.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace scx {

namespace {

std::int64_t index_of(const std::vector<std::string>& names, const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : it - names.begin();
}

/// Maps each row's most probable class to its index in @p names (-1 when the ruler lacks it).
std::vector<std::int64_t> most_probable(const RowMatrixD& p, const std::vector<std::string>& classes,
                                        const std::vector<std::string>& names) {
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(p.rows()));
    for (Eigen::Index i = 0; i < p.rows(); ++i) {
        Eigen::Index best = 0;
        p.row(i).maxCoeff(&best); // ties: the first, as apply
        out.push_back(index_of(names, classes[static_cast<std::size_t>(best)]));
    }
    return out;
}

} // namespace

MethodPrediction prediction_from_readouts(const BenchCells& cells, const AlgorithmFeatureOutputs& outputs) {
    const auto& r = outputs.readouts;
    MethodPrediction p;
    p.latent = outputs.latent;
    p.pseudotime = r.depth;
    std::vector<std::string> stage_names;
    for (const auto& s : cells.ruler->stages) stage_names.push_back(s.name);
    if (r.branch_probability.size() > 0) p.branch = most_probable(r.branch_probability, r.branch_classes, cells.ruler->branches);
    if (r.stage_probability.size() > 0) p.stage = most_probable(r.stage_probability, r.stage_classes, stage_names);
    for (const auto& task : cells.binary_tasks) {
        const auto it = std::find_if(r.probabilities.begin(), r.probabilities.end(),
                                     [&](const auto& tp) { return tp.first == task.name; });
        p.binary_scores.push_back(it == r.probabilities.end() ? Eigen::VectorXd() : it->second);
    }
    return p;
}

FactorAblationResult ablate_factors(const Algorithm& a, const OperatorFactors& factors, const BenchCells& cells,
                                    const RowMatrixF& x, const FactorAblationOptions& o) {
    if (factors.genes != a.features.genes)
        throw Error("ablation: the factors are not over the algorithm's panel");
    if (x.rows() != cells.n_cells() || x.cols() != a.features.n_genes())
        throw Error(fmt::format("ablation: expression of {} x {} for {} cells and a panel of {}", x.rows(), x.cols(),
                                cells.n_cells(), a.features.n_genes()));
    const auto r = factors.size();
    const auto core_size = std::min(o.core_size, r);
    if (core_size < 1 || core_size > 10) throw Error(fmt::format("ablation: core of {} factors (1 to 10)", o.core_size));

    FactorAblationResult out;
    out.endpoints = select_endpoints(cells, o.endpoints);
    out.n_cells = cells.n_cells();
    DonorSplit all;
    all.test.resize(static_cast<std::size_t>(cells.n_cells()));
    std::iota(all.test.begin(), all.test.end(), 0);
    all.test_donors.resize(cells.donor_names.size());
    std::iota(all.test_donors.begin(), all.test_donors.end(), 0);
    out.n_donors = static_cast<std::int64_t>(all.test_donors.size());

    const std::int64_t total = 1 + r + ((std::int64_t{1} << core_size) - 1);
    std::int64_t done = 0;
    const RowMatrixF intact_features = a.features.apply(x, o.threads);
    const auto score = [&](const std::vector<bool>& keep) {
        RowMatrixF f = intact_features;
        if (std::find(keep.begin(), keep.end(), false) != keep.end()) f -= removed_factor_features(factors, x, keep, o.threads);
        const auto outputs = apply_algorithm_to_features(a, std::move(f), o.threads);
        const auto s = score_split(cells, all, prediction_from_readouts(cells, outputs), out.endpoints, o.endpoint);
        if (o.progress) o.progress(++done, total);
        return s.split_value;
    };
    const auto impact_of = [&](const std::vector<double>& v) {
        double impact = 0;
        for (std::size_t e = 0; e < v.size(); ++e) {
            if (std::isnan(v[e]) || std::isnan(out.intact[e])) continue;
            const double drop = out.endpoints[e].higher_is_better ? out.intact[e] - v[e] : v[e] - out.intact[e];
            impact += std::max(0.0, drop);
        }
        return impact;
    };

    out.intact = score(std::vector<bool>(static_cast<std::size_t>(r), true));
    if (std::all_of(out.intact.begin(), out.intact.end(), [](double v) { return std::isnan(v); }))
        throw Error("ablation: no endpoint has a value on these cells (labels off the ruler, or too few cells per donor)");
    double sum = 0;
    for (std::int64_t f = 0; f < r; ++f) {
        std::vector<bool> keep(static_cast<std::size_t>(r), true);
        keep[static_cast<std::size_t>(f)] = false;
        AblationScores s;
        s.value = score(keep);
        s.impact = impact_of(s.value);
        sum += s.impact;
        out.single.push_back(std::move(s));
    }
    out.by_impact.resize(static_cast<std::size_t>(r));
    std::iota(out.by_impact.begin(), out.by_impact.end(), 0);
    std::stable_sort(out.by_impact.begin(), out.by_impact.end(),
                     [&](auto p, auto q) { return out.single[p].impact > out.single[q].impact; });
    for (const auto& s : out.single) out.share.push_back(sum > 0 ? s.impact / sum : std::nan(""));
    for (const auto n : o.top_shares) {
        if (n > r) continue;
        double share = 0;
        for (std::int64_t i = 0; i < n; ++i) share += out.share[static_cast<std::size_t>(out.by_impact[i])];
        out.top_share.emplace_back(n, share);
    }
    out.core.assign(out.by_impact.begin(), out.by_impact.begin() + core_size);
    std::sort(out.core.begin(), out.core.end());
    for (std::int64_t mask = 1; mask < (std::int64_t{1} << core_size); ++mask) {
        CoreSubset c;
        std::vector<bool> keep(static_cast<std::size_t>(r), false);
        for (std::int64_t b = 0; b < core_size; ++b)
            if (mask & (std::int64_t{1} << b)) {
                c.kept.push_back(out.core[static_cast<std::size_t>(b)]);
                keep[static_cast<std::size_t>(out.core[static_cast<std::size_t>(b)])] = true;
            }
        c.scores.value = score(keep);
        c.scores.impact = impact_of(c.scores.value);
        out.subsets.push_back(std::move(c));
    }
    // the subset loop visits masks in increasing order, so the full core (all bits) comes last
    return out;
}

} // namespace scx
