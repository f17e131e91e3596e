#include "scextract/interpret/in_silico_perturbation.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/random.hpp"
#include "scextract/interpret/operator_factors.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"
#include "scextract/stats/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

PerturbationMode parse_perturbation_mode(const std::string& text) {
    if (text == "knockout") return PerturbationMode::knockout;
    if (text == "overexpress") return PerturbationMode::overexpress;
    throw UsageError(fmt::format("perturbation mode '{}' (knockout or overexpress)", text));
}

const char* perturbation_mode_name(PerturbationMode m) {
    return m == PerturbationMode::knockout ? "knockout" : "overexpress";
}

namespace {

/// The outputs the summary compares, flattened per cell: depth, branch and stage probabilities.
struct Outputs {
    Eigen::VectorXd depth;
    RowMatrixD branch, stage;
};

Outputs outputs_of(const Algorithm& a, RowMatrixF features, int threads) {
    auto o = apply_algorithm_to_features(a, std::move(features), threads);
    return {std::move(o.readouts.depth), std::move(o.readouts.branch_probability), std::move(o.readouts.stage_probability)};
}

/// Mean over cells of each output's shift, in summary order (depth, branches, stages).
std::vector<double> mean_shifts(const Outputs& base, const Outputs& p) {
    std::vector<double> out;
    if (base.depth.size() > 0) out.push_back((p.depth - base.depth).mean());
    for (Eigen::Index c = 0; c < base.branch.cols(); ++c) out.push_back((p.branch.col(c) - base.branch.col(c)).mean());
    for (Eigen::Index c = 0; c < base.stage.cols(); ++c) out.push_back((p.stage.col(c) - base.stage.col(c)).mean());
    return out;
}

/// Feature change of setting the genes at @p positions to @p values (or 0) in every cell:
/// (target - x_S) times the operator's rows of those genes, since features are linear in x.
RowMatrixF gene_delta(const Algorithm& a, const RowMatrixF& x, const std::vector<std::int64_t>& positions,
                      const std::vector<double>& values, int threads) {
    const auto g = a.features.n_genes();
    const auto m = static_cast<Eigen::Index>(positions.size());
    RowMatrixF unit = RowMatrixF::Zero(m, g);
    RowMatrixF dx(x.rows(), m);
    for (Eigen::Index j = 0; j < m; ++j) {
        unit(j, positions[static_cast<std::size_t>(j)]) = 1.0F;
        dx.col(j) = (static_cast<float>(values[static_cast<std::size_t>(j)]) -
                     x.col(positions[static_cast<std::size_t>(j)]).array()).matrix();
    }
    const RowMatrixF rows = a.features.apply(unit, 1); // m x D: the operator's rows of those genes
    RowMatrixF out(x.rows(), rows.cols());
    // fixed row blocks so the bits do not depend on the thread count
    parallel_for(x.rows(), 256, threads, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        out.middleRows(b, e - b).noalias() = dx.middleRows(b, e - b) * rows;
    });
    return out;
}

} // namespace

PerturbationResult perturb_cells(const Algorithm& a, const RowMatrixF& x, const PerturbationOptions& o) {
    const auto g = a.features.n_genes();
    if (x.cols() != g) throw Error(fmt::format("perturb: expression of {} genes for a panel of {}", x.cols(), g));
    if (o.genes.empty() == (o.factor < 0)) throw UsageError("perturb: give either genes or a factor");
    if (o.null_sets < 1) throw UsageError(fmt::format("perturb: {} null sets (need at least 1)", o.null_sets));
    const bool knockout = o.mode == PerturbationMode::knockout;

    PerturbationResult r;
    const RowMatrixF base_features = a.features.apply(x, o.threads);
    const auto base_out = apply_algorithm_to_features(a, base_features, o.threads);
    const Outputs base{base_out.readouts.depth, base_out.readouts.branch_probability, base_out.readouts.stage_probability};
    r.branch_classes = base_out.readouts.branch_classes;
    r.stage_classes = base_out.readouts.stage_classes;

    // the perturbations: the one asked for first, then the null's
    std::vector<std::function<RowMatrixF()>> deltas;
    std::unordered_map<std::string, std::int64_t> position;
    for (std::int64_t i = 0; i < g; ++i) position.emplace(a.features.genes[static_cast<std::size_t>(i)], i);
    std::vector<double> top(static_cast<std::size_t>(g));
    for (std::int64_t i = 0; i < g; ++i) top[static_cast<std::size_t>(i)] = x.col(i).maxCoeff();
    const auto targets = [&](const std::vector<std::int64_t>& pos) {
        std::vector<double> v;
        for (const auto p : pos) v.push_back(knockout ? 0.0 : top[static_cast<std::size_t>(p)]);
        return v;
    };
    if (!o.genes.empty()) {
        std::vector<std::int64_t> chosen;
        std::vector<std::string> missing;
        for (const auto& gene : o.genes) {
            const auto it = position.find(gene);
            if (it == position.end()) missing.push_back(gene);
            else if (std::find(chosen.begin(), chosen.end(), it->second) == chosen.end()) chosen.push_back(it->second);
        }
        if (chosen.empty())
            throw Error(fmt::format("perturb: none of the {} genes is in the algorithm's {}-gene panel ({})", o.genes.size(), g,
                                    fmt::join(missing, ", ")));
        r.missing_genes = missing;
        if (static_cast<std::int64_t>(chosen.size()) * 2 > g)
            throw Error(fmt::format("perturb: {} genes of a {}-gene panel leave too few for a null of random sets", chosen.size(), g));
        for (const auto p : chosen) r.genes.push_back(a.features.genes[static_cast<std::size_t>(p)]);
        if (!knockout) r.set_values = targets(chosen);
        deltas.emplace_back([&, chosen] { return gene_delta(a, x, chosen, targets(chosen), o.threads); });

        // null: for each perturbed gene a random gene of its mean-expression bin, never a perturbed one
        std::vector<std::int64_t> order(static_cast<std::size_t>(g));
        std::iota(order.begin(), order.end(), 0);
        const Eigen::RowVectorXf mean = x.colwise().mean();
        std::stable_sort(order.begin(), order.end(), [&](auto p, auto q) { return mean(p) < mean(q); });
        const auto bins = std::clamp<std::int64_t>(o.expression_bins, 1, g);
        std::vector<std::int64_t> bin_of(static_cast<std::size_t>(g));
        std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(bins));
        const std::unordered_set<std::int64_t> perturbed(chosen.begin(), chosen.end());
        for (std::int64_t rank = 0; rank < g; ++rank) {
            const auto gene = order[static_cast<std::size_t>(rank)];
            bin_of[static_cast<std::size_t>(gene)] = rank * bins / g;
            if (!perturbed.count(gene)) members[static_cast<std::size_t>(rank * bins / g)].push_back(gene);
        }
        Rng rng(o.seed, 0x9e7u);
        for (std::int64_t s = 0; s < o.null_sets; ++s) {
            std::vector<std::int64_t> draw;
            for (const auto p : chosen) {
                auto pool = members[static_cast<std::size_t>(bin_of[static_cast<std::size_t>(p)])];
                pool.erase(std::remove_if(pool.begin(), pool.end(),
                                          [&](auto q) { return std::find(draw.begin(), draw.end(), q) != draw.end(); }),
                           pool.end());
                if (pool.empty()) { // a bin used up: any unperturbed gene not drawn yet
                    for (std::int64_t q = 0; q < g; ++q)
                        if (!perturbed.count(q) && std::find(draw.begin(), draw.end(), q) == draw.end()) pool.push_back(q);
                }
                draw.push_back(pool[static_cast<std::size_t>(rng.below(pool.size()))]);
            }
            deltas.emplace_back([&, draw] { return gene_delta(a, x, draw, targets(draw), o.threads); });
        }
    } else {
        const auto factors = operator_factors(a.features);
        if (o.factor >= factors.size())
            throw Error(fmt::format("perturb: factor {} of an operator with {} factors (f00..{})", o.factor, factors.size(),
                                    OperatorFactors::name(factors.size() - 1)));
        const double sign = knockout ? -1.0 : 1.0;
        const auto factor_delta = [&, sign](std::int64_t f) {
            std::vector<bool> keep(static_cast<std::size_t>(factors.size()), true);
            keep[static_cast<std::size_t>(f)] = false;
            RowMatrixF d = removed_factor_features(factors, x, keep, o.threads);
            return RowMatrixF(d * static_cast<float>(sign));
        };
        deltas.emplace_back([=] { return factor_delta(o.factor); });
        for (std::int64_t f = 0; f < factors.size(); ++f)
            if (f != o.factor) deltas.emplace_back([=] { return factor_delta(f); });
        if (deltas.size() < 2) throw Error("perturb: the operator has one factor, so there is no other factor for the null");
    }

    const auto total = static_cast<std::int64_t>(deltas.size());
    std::vector<std::vector<double>> null;
    std::vector<double> observed;
    for (std::int64_t i = 0; i < total; ++i) {
        RowMatrixF f = base_features + deltas[static_cast<std::size_t>(i)]();
        const auto p = outputs_of(a, std::move(f), o.threads);
        if (i == 0) {
            observed = mean_shifts(base, p);
            if (base.depth.size() > 0) {
                r.depth = base.depth;
                r.depth_shift = p.depth - base.depth;
            }
            r.branch_shift = (p.branch - base.branch).cast<float>();
            r.stage_shift = (p.stage - base.stage).cast<float>();
        } else {
            null.push_back(mean_shifts(base, p));
        }
        if (o.progress) o.progress(i + 1, total);
    }
    r.null_sets = static_cast<std::int64_t>(null.size());

    std::vector<std::string> names;
    if (base.depth.size() > 0) names.emplace_back("depth");
    for (const auto& c : r.branch_classes) names.push_back("branch:" + c);
    for (const auto& c : r.stage_classes) names.push_back("stage:" + c);
    std::vector<double> p;
    for (std::size_t k = 0; k < observed.size(); ++k) {
        PerturbationShift s;
        s.output = names[k];
        s.shift = observed[k];
        double sum = 0, sq = 0;
        std::int64_t above = 0, below = 0;
        for (const auto& n : null) {
            sum += n[k];
            above += n[k] >= s.shift;
            below += n[k] <= s.shift;
        }
        const double count = static_cast<double>(null.size());
        s.null_mean = sum / count;
        for (const auto& n : null) sq += (n[k] - s.null_mean) * (n[k] - s.null_mean);
        s.null_sd = std::sqrt(sq / count);
        s.z = s.null_sd > 0 ? (s.shift - s.null_mean) / s.null_sd : 0.0;
        s.p = std::min(1.0, 2.0 * static_cast<double>(1 + std::min(above, below)) / (1.0 + count));
        p.push_back(s.p);
        r.summary.push_back(std::move(s));
    }
    const auto q = benjamini_hochberg(p);
    for (std::size_t k = 0; k < r.summary.size(); ++k) {
        auto& s = r.summary[k];
        s.q = q[k];
        if (s.q < o.fdr) {
            const bool up = s.shift > s.null_mean;
            s.direction = s.output == "depth" ? (up ? "deeper" : "shallower") : (up ? "toward" : "away");
        }
    }
    return r;
}

} // namespace scx
