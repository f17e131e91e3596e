#include "scextract/bench/bench_runner.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/quantile.hpp"
#include "scextract/core/random.hpp"
#include "scextract/stats/metrics.hpp"
#include "scextract/stats/statistics.hpp"

#include <Eigen/SVD>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (const auto x : v) s += x;
    return v.empty() ? kNaN : s / static_cast<double>(v.size());
}

/// Paired comparison of two value series (NaN = not applicable; pairs need both values).
BenchComparison compare(const std::vector<double>& reference, const std::vector<double>& method) {
    BenchComparison c;
    std::vector<double> a, b, d;
    for (std::size_t i = 0; i < reference.size(); ++i) {
        if (!std::isfinite(reference[i]) || !std::isfinite(method[i])) continue;
        a.push_back(reference[i]);
        b.push_back(method[i]);
        d.push_back(reference[i] - method[i]);
    }
    c.n = static_cast<std::int64_t>(d.size());
    c.mean_reference = mean_of(a);
    c.mean_method = mean_of(b);
    c.median_difference = median(d);
    c.statistic = c.p = c.q = kNaN;
    c.test = "none";
    if (!d.empty()) {
        const auto w = wilcoxon_signed_rank(d);
        c.statistic = w.statistic;
        c.p = w.pvalue;
        c.test = w.method;
    }
    return c;
}

/// Seeded subsample of 0..n-1 of at most @p k positions, ascending.
std::vector<std::int64_t> subsample(std::int64_t n, std::int64_t k, std::uint64_t seed) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) idx[i] = i;
    if (n <= k) return idx;
    Rng rng(seed, 0xF16);
    for (std::int64_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)))]);
    idx.resize(static_cast<std::size_t>(k));
    std::sort(idx.begin(), idx.end());
    return idx;
}

/// The latent's first two principal components over @p points (test positions).
Eigen::MatrixXd latent_pcs(const RowMatrixF& latent, const std::vector<std::int64_t>& points) {
    Eigen::MatrixXd z(static_cast<Eigen::Index>(points.size()), latent.cols());
    for (std::size_t i = 0; i < points.size(); ++i) z.row(static_cast<Eigen::Index>(i)) = latent.row(points[i]).cast<double>();
    z.rowwise() -= z.colwise().mean();
    // BDCSVD: every method's latent is drawn now, and raw-expression latents are hundreds of columns wide
    const Eigen::BDCSVD<Eigen::MatrixXd> svd(z, Eigen::ComputeThinV);
    Eigen::MatrixXd v = svd.matrixV().leftCols(2);
    for (Eigen::Index j = 0; j < 2; ++j) {
        // Sign convention: the largest-magnitude loading is positive, so the picture is reproducible.
        Eigen::Index arg = 0;
        v.col(j).cwiseAbs().maxCoeff(&arg);
        if (v(arg, j) < 0) v.col(j) *= -1.0;
    }
    return z * v;
}

/// counts[true][predicted] of @p predicted (per test cell) against @p truth (per cell, -1
/// unknown); predictions outside 0..n_classes-1 go to the last column.
ConfusionFigure confusion(const std::string& method, const std::string& task, const DonorSplit& split,
                          const std::vector<std::int64_t>& truth, const std::vector<std::int64_t>& predicted,
                          std::size_t n_classes) {
    ConfusionFigure c{method, task, std::vector<std::vector<std::int64_t>>(n_classes, std::vector<std::int64_t>(n_classes + 1, 0))};
    for (std::size_t k = 0; k < split.test.size(); ++k) {
        const auto t = truth[static_cast<std::size_t>(split.test[k])];
        if (t < 0 || t >= static_cast<std::int64_t>(n_classes)) continue;
        const auto p = predicted[k];
        ++c.counts[static_cast<std::size_t>(t)][p >= 0 && p < static_cast<std::int64_t>(n_classes) ? static_cast<std::size_t>(p) : n_classes];
    }
    return c;
}

/// The figures drawn from one method's prediction on the figure split.
void add_figures(BenchResult& r, const BenchCells& cells, const DonorSplit& split, const MethodInfo& info,
                 const MethodPrediction& p, double depth_score, const BenchOptions& options) {
    const auto n = static_cast<std::int64_t>(split.test.size());
    const auto points = subsample(n, options.figure_points, options.splits.seed);
    if (p.pseudotime.size() == n) {
        PseudotimeFigure f{info.name, info.pseudotime, {}, {}, {}, depth_score};
        for (const auto k : points) {
            const auto dv = cells.depth[split.test[k]];
            if (!std::isfinite(dv) || !std::isfinite(p.pseudotime(k))) continue;
            f.depth.push_back(dv);
            f.pseudotime.push_back(p.pseudotime(k));
            f.branch.push_back(cells.branch[split.test[k]]);
        }
        r.pseudotime_figures.push_back(std::move(f));
    }
    for (std::size_t t = 0; t < cells.binary_tasks.size() && t < p.binary_scores.size(); ++t) {
        if (p.binary_scores[t].size() != n) continue;
        std::vector<double> s;
        std::vector<std::int64_t> y;
        for (std::int64_t k = 0; k < n; ++k) {
            const auto l = cells.binary_tasks[t].label[split.test[k]];
            if (l < 0) continue;
            s.push_back(p.binary_scores[t](k));
            y.push_back(l);
        }
        const auto pos = std::count(y.begin(), y.end(), 1);
        if (pos == 0 || pos == static_cast<std::int64_t>(y.size())) continue;
        const auto roc = roc_curve(s, y);
        r.roc_figures.push_back({info.name, cells.binary_tasks[t].name, roc.fpr, roc.tpr, auroc(s, y)});
    }
    if (cells.ruler) {
        if (static_cast<std::int64_t>(p.branch.size()) == n)
            r.confusion_figures.push_back(confusion(info.name, "branch", split, cells.branch, p.branch, cells.ruler->branches.size()));
        if (static_cast<std::int64_t>(p.stage.size()) == n)
            r.confusion_figures.push_back(confusion(info.name, "stage", split, cells.stage, p.stage, cells.ruler->stages.size()));
    }
    if (p.latent.rows() == n && p.latent.cols() >= 2) {
        const Eigen::MatrixXd xy = latent_pcs(p.latent, points);
        const bool has_stage = static_cast<std::int64_t>(p.stage.size()) == n;
        ManifoldFigure m{info.name, {}, {}, {}, {}, {}};
        for (std::size_t i = 0; i < points.size(); ++i) {
            // cells whose label reaches no stage have no colour; they are left out of the picture
            const auto cell = split.test[points[i]];
            const auto stage = cells.stage[cell];
            if (stage < 0) continue;
            m.x.push_back(xy(static_cast<Eigen::Index>(i), 0));
            m.y.push_back(xy(static_cast<Eigen::Index>(i), 1));
            m.stage.push_back(stage);
            if (cells.labels.size() == cells.stage.size()) {
                const auto at = std::lower_bound(r.figure_labels.begin(), r.figure_labels.end(), cells.labels[cell]);
                m.label.push_back(at - r.figure_labels.begin());
            }
            if (has_stage) m.predicted_stage.push_back(p.stage[points[i]]);
        }
        r.manifold_figures.push_back(std::move(m));
    }
}

} // namespace

BenchResult run_bench(const BenchCells& cells, std::span<const std::unique_ptr<BenchMethod>> methods,
                      const BenchOptions& options) {
    if (methods.empty()) throw Error("bench: no method to run");
    BenchResult r;
    r.endpoints = select_endpoints(cells, options.endpoints);
    r.splits = make_donor_splits(cells.donor, static_cast<std::int64_t>(cells.donor_names.size()), options.splits);
    const auto n_splits = static_cast<std::int64_t>(r.splits.splits.size());
    r.figure_split = std::clamp<std::int64_t>(options.figure_split, 0, n_splits - 1);
    // the labels the manifold figures are coloured by: those of cells that reach a stage
    for (std::size_t i = 0; i < cells.labels.size() && i < cells.stage.size(); ++i)
        if (cells.stage[i] >= 0) r.figure_labels.push_back(cells.labels[i]);
    std::sort(r.figure_labels.begin(), r.figure_labels.end());
    r.figure_labels.erase(std::unique(r.figure_labels.begin(), r.figure_labels.end()), r.figure_labels.end());

    std::vector<MethodInfo> infos;
    for (const auto& m : methods) infos.push_back(m->info());
    r.reference = options.reference.empty() ? infos.front().name : options.reference;
    if (std::none_of(infos.begin(), infos.end(), [&](const MethodInfo& i) { return i.name == r.reference; }))
        throw Error(fmt::format("bench: the reference method '{}' is not among the methods", r.reference));
    // pairs are checked before any work, so a typo never costs a finished run
    for (const auto& pair : options.pairs)
        for (const auto* name : {&pair.method, &pair.against})
            if (std::none_of(infos.begin(), infos.end(), [&](const MethodInfo& i) { return i.name == *name; }))
                throw Error(fmt::format("bench: the {} comparison names '{}', which is not among the methods", pair.kind, *name));
    for (std::size_t i = 0; i < infos.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (infos[i].name == infos[j].name) throw Error(fmt::format("bench: two methods are named '{}'", infos[i].name));

    const auto n_methods = static_cast<std::int64_t>(methods.size());
    const std::int64_t steps = n_methods * (1 + n_splits);
    std::int64_t done = 0;
    const auto tick = [&] {
        ++done;
        if (options.progress) options.progress(done, steps);
    };
    const auto* kept = options.checkpoint;
    std::int64_t computed = 0; // method x splits run here (not resumed), for the failure message
    const auto failed = [&](const std::string& name, const std::string& where, const Error& e) {
        const auto resume = kept && computed > 0 ? fmt::format(" ({} finished method x splits are kept in {}; rerun with "
                                                               "--resume to continue from there)",
                                                               computed, kept->folder().string())
                                                 : std::string();
        return Error(fmt::format("bench: method '{}' failed {}: {}{}", name, where, e.what(), resume));
    };
    for (std::int64_t mi = 0; mi < n_methods; ++mi) {
        auto& method = *methods[static_cast<std::size_t>(mi)];
        const auto& name = infos[mi].name;
        BenchMethodRun run;
        std::vector<std::optional<SplitRecord>> records;
        for (const auto& split : r.splits.splits)
            records.push_back(kept ? kept->load(mi, name, split.index) : std::nullopt);
        const bool all_kept = std::all_of(records.begin(), records.end(), [](const auto& x) { return x.has_value(); });
        if (all_kept && !records.empty()) {
            run.cache_seconds = records.front()->cache_seconds; // prepare() is skipped: nothing left to run
        } else {
            const auto t0 = std::chrono::steady_clock::now();
            try {
                method.prepare(cells, options.threads);
            } catch (const Error& e) {
                throw failed(name, "to prepare", e);
            }
            run.cache_seconds = seconds_since(t0);
        }
        tick();
        std::int64_t parameters = -1;
        for (const auto& split : r.splits.splits) {
            MethodPrediction p;
            auto& record = records[static_cast<std::size_t>(split.index)];
            if (record) {
                p = std::move(record->prediction);
                run.split_seconds.push_back(record->seconds);
                run.split_notes.push_back(record->note);
                parameters = record->trainable_parameters;
                run.operator_size = record->operator_size;
            } else {
                const auto t1 = std::chrono::steady_clock::now();
                try {
                    p = method.run_split(cells, split.train, split.test, options.threads);
                } catch (const Error& e) {
                    throw failed(name, fmt::format("on split {}", split.index), e);
                }
                run.split_seconds.push_back(seconds_since(t1));
                run.split_notes.push_back(method.split_note());
                parameters = method.info().trainable_parameters;
                run.operator_size = method.operator_size();
                if (kept)
                    kept->save(mi, name, split.index,
                               {p, run.cache_seconds, run.split_seconds.back(), run.split_notes.back(), parameters,
                                run.operator_size});
                ++computed;
            }
            run.scores.push_back(score_split(cells, split, p, r.endpoints, options.endpoint_options));
            if (split.index == r.figure_split) {
                const auto e = std::find_if(r.endpoints.begin(), r.endpoints.end(), [](const Endpoint& x) { return x.name == "depth_spearman"; });
                const double depth_score = e == r.endpoints.end() ? kNaN : run.scores.back().split_value[e - r.endpoints.begin()];
                add_figures(r, cells, split, method.info(), p, depth_score, options);
            }
            if (options.log)
                options.log(fmt::format("{} split {}/{}: {:.2f} s{}{}", infos[mi].name, split.index + 1, n_splits,
                                        run.split_seconds.back(), record ? " (resumed)" : "",
                                        run.split_notes.back().empty() ? "" : " (" + run.split_notes.back() + ")"));
            tick();
        }
        run.info = method.info();
        run.info.trainable_parameters = parameters; // after fitting, so parameter counts are known
        r.methods.push_back(std::move(run));
    }

    // Donor means over the splits holding each distinct test donor out.
    const auto& distinct = r.splits.distinct_test_donors;
    for (auto& run : r.methods) {
        run.donor_means.assign(r.endpoints.size(), std::vector<double>(distinct.size(), kNaN));
        for (std::size_t e = 0; e < r.endpoints.size(); ++e)
            for (std::size_t di = 0; di < distinct.size(); ++di) {
                std::vector<double> values;
                for (const auto& s : run.scores)
                    for (std::size_t k = 0; k < s.donors.size(); ++k)
                        if (s.donors[k] == distinct[di] && std::isfinite(s.donor_value[e][k])) values.push_back(s.donor_value[e][k]);
                run.donor_means[e][di] = mean_of(values);
            }
    }

    // Comparisons: every method with the reference, then the configured pairs; BH within
    // each (kind, unit) family across its endpoints x comparisons.
    const auto run_of = [&](const std::string& name) -> const BenchMethodRun& {
        const auto it = std::find_if(r.methods.begin(), r.methods.end(), [&](const BenchMethodRun& m) { return m.info.name == name; });
        if (it == r.methods.end()) throw Error(fmt::format("bench: the compared method '{}' is not among the methods", name));
        return *it;
    };
    std::vector<std::tuple<const BenchMethodRun*, const BenchMethodRun*, std::string>> pairs; // against, method, kind
    for (const auto& run : r.methods)
        if (run.info.name != r.reference) pairs.emplace_back(&run_of(r.reference), &run, "reference");
    for (const auto& pair : options.pairs) pairs.emplace_back(&run_of(pair.against), &run_of(pair.method), pair.kind);
    std::vector<std::string> kinds;
    for (const auto& [a, m, kind] : pairs)
        if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
    for (const auto& kind : kinds)
        for (const std::string unit : {"splits", "donors"}) {
            const auto first = r.comparisons.size();
            for (const auto& [against, run, pair_kind] : pairs) {
                if (pair_kind != kind) continue;
                for (std::size_t e = 0; e < r.endpoints.size(); ++e) {
                    if (r.endpoints[e].name == "depth_spearman" && run->info.pseudotime != against->info.pseudotime) continue;
                    std::vector<double> a, b;
                    if (unit == "splits") {
                        for (std::int64_t s = 0; s < n_splits; ++s) {
                            a.push_back(against->scores[s].split_value[e]);
                            b.push_back(run->scores[s].split_value[e]);
                        }
                    } else {
                        a = against->donor_means[e];
                        b = run->donor_means[e];
                    }
                    auto c = compare(a, b);
                    c.reference = against->info.name;
                    c.method = run->info.name;
                    c.endpoint = r.endpoints[e].name;
                    c.unit = unit;
                    c.kind = kind;
                    r.comparisons.push_back(std::move(c));
                }
            }
            std::vector<double> p;
            for (auto i = first; i < r.comparisons.size(); ++i) p.push_back(r.comparisons[i].p);
            const auto q = benjamini_hochberg(p);
            for (auto i = first; i < r.comparisons.size(); ++i) {
                auto& c = r.comparisons[i];
                c.q = q[i - first];
                c.significant = std::isfinite(c.q) && c.q < options.fdr;
            }
        }
    return r;
}

} // namespace scx
