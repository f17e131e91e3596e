#include "scextract/bench/endpoints.hpp"

#include "scextract/core/error.hpp"
#include "scextract/stats/metrics.hpp"
#include "scextract/stats/statistics.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr double kNotApplicable = std::numeric_limits<double>::quiet_NaN();

/// What an endpoint measures, resolved once per call.
struct EndpointKind {
    enum { branch_ba, branch_f1, stage_ba, stage_f1, task_auroc, task_ba, depth } what;
    std::int64_t task = -1; ///< index into cells.binary_tasks
};

EndpointKind kind_of(const BenchCells& cells, const std::string& name) {
    if (name == "branch_balanced_accuracy") return {EndpointKind::branch_ba};
    if (name == "branch_macro_f1") return {EndpointKind::branch_f1};
    if (name == "stage_balanced_accuracy") return {EndpointKind::stage_ba};
    if (name == "stage_macro_f1") return {EndpointKind::stage_f1};
    if (name == "depth_spearman") return {EndpointKind::depth};
    for (std::size_t t = 0; t < cells.binary_tasks.size(); ++t) {
        const auto& task = cells.binary_tasks[t].name;
        if (name == task + "_auroc") return {EndpointKind::task_auroc, static_cast<std::int64_t>(t)};
        if (name == task + "_balanced_accuracy") return {EndpointKind::task_ba, static_cast<std::int64_t>(t)};
    }
    throw Error(fmt::format("unknown endpoint '{}'", name));
}

/// Balanced accuracy or macro-F1 of predicted codes against true codes over one donor's
/// labelled cells.
double classification(const std::vector<std::int64_t>& truth_all, const std::vector<std::int64_t>& predicted,
                      const std::vector<std::int64_t>& positions, const std::vector<std::int64_t>& test, bool f1,
                      std::int64_t min_cells) {
    if (predicted.empty()) return kNotApplicable;
    std::vector<std::int64_t> t, p;
    for (const auto k : positions) {
        const auto truth = truth_all[test[k]];
        if (truth < 0) continue;
        t.push_back(truth);
        p.push_back(predicted[k]);
    }
    if (static_cast<std::int64_t>(t.size()) < min_cells) return kNotApplicable;
    return f1 ? macro_f1(p, t) : balanced_accuracy(p, t);
}

} // namespace

std::vector<Endpoint> available_endpoints(const BenchCells& cells) {
    std::vector<Endpoint> e = {
        {"branch_balanced_accuracy", "Branch balanced accuracy", true},
        {"branch_macro_f1", "Branch macro-F1", true},
        {"stage_balanced_accuracy", "Stage balanced accuracy", true},
        {"stage_macro_f1", "Stage macro-F1", true},
    };
    for (const auto& t : cells.binary_tasks) {
        const auto title = fmt::format("{} vs {}", t.negative_class, t.positive_class);
        e.push_back({t.name + "_auroc", title + " AUROC", true});
        e.push_back({t.name + "_balanced_accuracy", title + " balanced accuracy", true});
    }
    e.push_back({"depth_spearman", "Pseudotime-depth |Spearman|", true});
    return e;
}

std::vector<Endpoint> select_endpoints(const BenchCells& cells, const std::vector<std::string>& names) {
    const auto all = available_endpoints(cells);
    if (names.empty()) return all;
    std::vector<Endpoint> out;
    for (const auto& n : names) {
        const auto it = std::find_if(all.begin(), all.end(), [&](const Endpoint& e) { return e.name == n; });
        if (it == all.end()) {
            std::string list;
            for (const auto& e : all) list += (list.empty() ? "" : ", ") + e.name;
            throw Error(fmt::format("unknown endpoint '{}' (available on these cells: {})", n, list));
        }
        out.push_back(*it);
    }
    return out;
}

SplitScores score_split(const BenchCells& cells, const DonorSplit& split, const MethodPrediction& prediction,
                        const std::vector<Endpoint>& endpoints, const EndpointOptions& options) {
    const auto n_test = static_cast<std::int64_t>(split.test.size());
    const auto check_rows = [&](std::int64_t rows, const char* what) {
        if (rows != 0 && rows != n_test)
            throw Error(fmt::format("split {}: the method gave {} {} for {} test cells", split.index, rows, what, n_test));
    };
    check_rows(prediction.pseudotime.size(), "pseudotimes");
    check_rows(static_cast<std::int64_t>(prediction.branch.size()), "branch predictions");
    check_rows(static_cast<std::int64_t>(prediction.stage.size()), "stage predictions");
    for (const auto& s : prediction.binary_scores) check_rows(s.size(), "binary scores");

    SplitScores out;
    out.donors = split.test_donors;
    // Test-cell positions of each held-out donor.
    std::vector<std::vector<std::int64_t>> positions(split.test_donors.size());
    for (std::int64_t k = 0; k < n_test; ++k) {
        const auto d = cells.donor[split.test[k]];
        const auto it = std::lower_bound(split.test_donors.begin(), split.test_donors.end(), d);
        if (it != split.test_donors.end() && *it == d) positions[it - split.test_donors.begin()].push_back(k);
    }

    out.donor_value.assign(endpoints.size(), std::vector<double>(split.test_donors.size(), kNotApplicable));
    out.split_value.assign(endpoints.size(), kNotApplicable);
    for (std::size_t e = 0; e < endpoints.size(); ++e) {
        const auto kind = kind_of(cells, endpoints[e].name);
        for (std::size_t di = 0; di < positions.size(); ++di) {
            const auto& pos = positions[di];
            double v = kNotApplicable;
            switch (kind.what) {
            case EndpointKind::branch_ba:
            case EndpointKind::branch_f1:
                v = classification(cells.branch, prediction.branch, pos, split.test, kind.what == EndpointKind::branch_f1,
                                   options.min_donor_cells);
                break;
            case EndpointKind::stage_ba:
            case EndpointKind::stage_f1:
                v = classification(cells.stage, prediction.stage, pos, split.test, kind.what == EndpointKind::stage_f1,
                                   options.min_donor_cells);
                break;
            case EndpointKind::task_auroc:
            case EndpointKind::task_ba: {
                const auto t = static_cast<std::size_t>(kind.task);
                if (t >= prediction.binary_scores.size() || prediction.binary_scores[t].size() == 0) break;
                const auto& score = prediction.binary_scores[t];
                const auto& label = cells.binary_tasks[t].label;
                std::vector<double> s;
                std::vector<std::int64_t> y;
                for (const auto k : pos) {
                    const auto l = label[split.test[k]];
                    if (l < 0) continue;
                    s.push_back(score(k));
                    y.push_back(l);
                }
                const auto positives = std::count(y.begin(), y.end(), 1);
                if (static_cast<std::int64_t>(y.size()) < options.min_donor_cells || positives == 0 ||
                    positives == static_cast<std::int64_t>(y.size()))
                    break;
                if (kind.what == EndpointKind::task_auroc) {
                    v = auroc(s, y);
                } else {
                    std::vector<std::int64_t> p(s.size());
                    for (std::size_t i = 0; i < s.size(); ++i) p[i] = s[i] > 0.5 ? 1 : 0;
                    v = balanced_accuracy(p, y);
                }
                break;
            }
            case EndpointKind::depth: {
                if (prediction.pseudotime.size() == 0) break;
                std::vector<double> pt, depth;
                for (const auto k : pos) {
                    const auto dv = cells.depth[split.test[k]];
                    if (!std::isfinite(dv) || !std::isfinite(prediction.pseudotime(k))) continue;
                    pt.push_back(prediction.pseudotime(k));
                    depth.push_back(dv);
                }
                if (static_cast<std::int64_t>(pt.size()) < options.min_donor_cells) break;
                const double rho = spearman(pt, depth);
                if (std::isfinite(rho)) v = std::abs(rho); // orientation-independent (METHOD.md)
                break;
            }
            }
            out.donor_value[e][di] = v;
        }
        double sum = 0;
        std::int64_t count = 0;
        for (const auto v : out.donor_value[e])
            if (std::isfinite(v)) sum += v, ++count;
        if (count > 0) out.split_value[e] = sum / static_cast<double>(count);
    }
    return out;
}

} // namespace scx
