#include "scextract/validate/manifold_validation.hpp"

#include "scextract/core/dense.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/random.hpp"
#include "scextract/core/shuffle.hpp"
#include "scextract/core/shortest_paths.hpp"
#include "scextract/stats/metrics.hpp"
#include "scextract/validate/holdout_folds.hpp"
#include "scextract/stats/ruler_correlation.hpp"
#include "scextract/stats/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <queue>
#include <set>
#include <tuple>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kMaxSubsampleCells = 10000;

std::vector<std::int64_t> all_rows(std::int64_t n) {
    std::vector<std::int64_t> r(static_cast<std::size_t>(n));
    std::iota(r.begin(), r.end(), 0);
    return r;
}

/// The standardised features and the labels the fits share.
struct Prepared {
    const ManifoldData& data;
    RowMatrixF f; ///< standardised features
    Eigen::MatrixXd distance;
    const ManifoldValidationOptions& options;
};

AnchorSet anchors_of(const Prepared& p, const RowMatrixF& f, const std::vector<std::int64_t>& rows,
                     const std::vector<std::int64_t>& stage, const std::vector<std::int64_t>& label, int threads) {
    std::vector<std::vector<std::int64_t>> keys(3);
    std::vector<std::int64_t> s;
    for (const auto r : rows) {
        keys[0].push_back(p.data.donor[r]);
        keys[1].push_back(p.data.tissue[r]);
        keys[2].push_back(label[r]);
        s.push_back(stage[r]);
    }
    const bool everything = static_cast<std::int64_t>(rows.size()) == f.rows();
    return make_anchors(everything ? f : take_rows(f, rows), s, keys,
                        {.min_cells = p.options.min_anchor_cells, .threads = threads});
}

Adaptor fit_on(const Prepared& p, const AnchorSet& anchors, std::int64_t k, int threads, std::int64_t epochs = 0) {
    auto ao = p.options.adaptor;
    ao.k = k;
    if (epochs > 0) ao.epochs = epochs;
    ao.threads = threads;
    ao.seed = p.options.seed;
    return fit_adaptor(anchors.rows, anchors.stage, p.distance, ao).adaptor;
}

Eigen::MatrixXd encode(const Adaptor& a, const RowMatrixF& rows, int threads) {
    return a.encode(rows, threads).cast<double>();
}

/// Spearman of kNN-graph shortest paths (arc lengths) in @p z with ruler distances.
std::pair<double, std::int64_t> geodesic_correlation(const Eigen::MatrixXd& z, const std::vector<std::int64_t>& stage,
                                                     const Eigen::MatrixXd& dist, std::int64_t k, int threads) {
    const auto n = z.rows();
    Eigen::MatrixXd u = z;
    for (Eigen::Index i = 0; i < n; ++i) {
        const double norm = u.row(i).norm();
        if (norm > 0) u.row(i) /= norm;
    }
    const auto arc = [&](Eigen::Index i, Eigen::Index j) { return std::acos(std::clamp(u.row(i).dot(u.row(j)), -1.0, 1.0)); };
    // kNN (ties by index), symmetrised
    WeightedAdjacency adj(static_cast<std::size_t>(n));
    std::vector<std::vector<std::pair<std::int64_t, double>>> knn(static_cast<std::size_t>(n));
    const auto kk = std::min<std::int64_t>(k, n - 1);
    parallel_for(n, 64, threads, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        std::vector<std::pair<double, std::int64_t>> d(static_cast<std::size_t>(n));
        for (std::int64_t i = b; i < e; ++i) {
            for (std::int64_t j = 0; j < n; ++j) d[j] = {j == i ? std::numeric_limits<double>::infinity() : arc(i, j), j};
            std::partial_sort(d.begin(), d.begin() + kk, d.end());
            for (std::int64_t t = 0; t < kk; ++t) knn[i].push_back({d[t].second, d[t].first});
        }
    });
    for (std::int64_t i = 0; i < n; ++i)
        for (const auto& [j, w] : knn[i]) {
            adj[i].push_back({j, w});
            adj[j].push_back({i, w});
        }
    const Eigen::MatrixXd geo = all_shortest_paths(adj, threads);
    std::vector<double> g, r;
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = i + 1; j < n; ++j)
            if (std::isfinite(geo(i, j))) {
                g.push_back(geo(i, j));
                r.push_back(dist(stage[i], stage[j]));
            }
    if (g.size() < 2) return {std::numeric_limits<double>::quiet_NaN(), static_cast<std::int64_t>(g.size())};
    return {spearman(g, r), static_cast<std::int64_t>(g.size())};
}

/// Spearman of latent arc distances with ruler distances over the pairs of rows of different
/// stages (as ruler_correlation(), which also scores same-stage pairs).
double distinct_stage_correlation(const Eigen::MatrixXd& z, const std::vector<std::int64_t>& stage, const Eigen::MatrixXd& dist) {
    std::vector<double> arc, ruler;
    const Eigen::VectorXd norms = z.rowwise().norm();
    for (Eigen::Index i = 0; i < z.rows(); ++i)
        for (Eigen::Index j = i + 1; j < z.rows(); ++j) {
            if (stage[i] == stage[j]) continue;
            const double denom = norms(i) * norms(j);
            arc.push_back(std::acos(denom > 0 ? std::clamp(z.row(i).dot(z.row(j)) / denom, -1.0, 1.0) : 1.0));
            ruler.push_back(dist(stage[i], stage[j]));
        }
    return arc.size() < 2 ? std::numeric_limits<double>::quiet_NaN() : spearman(arc, ruler);
}

/// Fits on the cells not held out and scores the pairs of held-out anchors (zero-shot, as the
/// head scan). Pairs with a training anchor are left out on purpose: fitted anchors spread
/// along the ruler, so a held-out anchor that lands near the centre of the latent would
/// correlate with the ruler through the training anchors' centrality alone. With
/// @p distinct_stages only pairs of different stages count (see branch_distinct_stages).
/// NaN with a reason when the fold cannot be fitted or scored.
std::pair<double, std::string> holdout_score(const Prepared& p, const std::vector<char>& held_cell, std::int64_t k,
                                             int threads, bool distinct_stages = false) {
    std::vector<std::int64_t> train, test;
    for (std::int64_t i = 0; i < p.f.rows(); ++i) (held_cell[i] ? test : train).push_back(i);
    const auto nan = std::numeric_limits<double>::quiet_NaN();
    if (train.empty() || test.empty()) return {nan, "no cells on one side"};
    const auto a_train = anchors_of(p, p.f, train, p.data.stage, p.data.label, threads);
    const auto a_test = anchors_of(p, p.f, test, p.data.stage, p.data.label, threads);
    std::set<std::int64_t> stages(a_train.stage.begin(), a_train.stage.end());
    if (a_train.rows.rows() < 2 || stages.size() < 2) return {nan, "fewer than two training anchors or stages"};
    if (a_test.rows.rows() < 2) return {nan, "fewer than two held-out anchors"};
    const auto n_test_stages = std::set<std::int64_t>(a_test.stage.begin(), a_test.stage.end()).size();
    if (distinct_stages && n_test_stages < 3)
        return {nan, fmt::format("{} held-out stage(s): pairs of different stages need >= 3 to have an order", n_test_stages)};
    const auto adaptor = fit_on(p, a_train, k, threads);
    const auto z = encode(adaptor, a_test.rows, threads);
    const double s = distinct_stages ? distinct_stage_correlation(z, a_test.stage, p.distance)
                                     : ruler_correlation(z, a_test.stage, p.distance);
    if (!std::isfinite(s)) return {nan, "the held-out pairs have constant ruler or latent distances"};
    return {s, {}};
}

HoldoutGate random_gate(const Prepared& p, std::int64_t k, int threads) {
    HoldoutGate g;
    g.name = "random";
    const auto fold = random_group_fold(p.data, p.options.random_fraction, p.options.seed);
    const auto [s, why] = holdout_score(p, fold.held, k, threads);
    if (std::isfinite(s)) g.folds.push_back({fold.name, s});
    else g.skipped.push_back(why);
    finish_gate(g, p.options.holdout_gate);
    return g;
}

HoldoutGate donor_gate(const Prepared& p, int threads) {
    HoldoutGate g;
    g.name = "leave_donor";
    for (const auto& fold : donor_holdout_folds(p.data, p.options.donor_folds, p.options.seed)) {
        const auto [s, why] = holdout_score(p, fold.held, p.options.adaptor.k, threads);
        if (std::isfinite(s)) g.folds.push_back({fold.name, s});
        else g.skipped.push_back(fold.name + ": " + why);
    }
    finish_gate(g, p.options.holdout_gate);
    return g;
}

HoldoutGate branch_gate(const Prepared& p, const Ruler& ruler, int threads) {
    HoldoutGate g;
    g.name = "leave_branch";
    for (const auto& fold : branch_holdout_folds(p.data, ruler)) {
        const auto [s, why] = holdout_score(p, fold.held, p.options.adaptor.k, threads, p.options.branch_distinct_stages);
        if (std::isfinite(s)) g.folds.push_back({fold.name, s});
        else g.skipped.push_back(fold.name + ": " + why);
    }
    finish_gate(g, p.options.holdout_gate);
    return g;
}

PermutationTest permutation_test(const Prepared& p, const AnchorSet& anchors, double frozen_observed,
                                 const FrozenEncoder* frozen, int threads) {
    PermutationTest t;
    const auto n_perm = p.options.permutations;
    t.permutations = n_perm;
    t.refit = frozen == nullptr;
    t.alpha = p.options.alpha;
    if (n_perm <= 0) return t;
    const auto epochs = p.options.permutation_epochs > 0 ? p.options.permutation_epochs : p.options.adaptor.epochs;
    if (t.refit) {
        t.epochs = epochs;
        const auto observed_fit = fit_on(p, anchors, p.options.adaptor.k, threads, epochs);
        t.observed = ruler_correlation(encode(observed_fit, anchors.rows, threads), anchors.stage, p.distance);
    } else {
        t.observed = frozen_observed;
    }
    const double observed = t.observed;
    const auto blocks = donor_tissue_blocks(p.data);
    const auto rows = all_rows(p.f.rows());
    // frozen: the latent of every cell is fixed; anchors of z are the encodings of anchors of f
    RowMatrixF z_cells;
    if (frozen) z_cells = frozen->adaptor.encode(p.f, threads);
    std::vector<double> null(static_cast<std::size_t>(n_perm), std::numeric_limits<double>::quiet_NaN());
    std::int64_t done = 0;
    std::mutex progress_mutex;
    parallel_for(n_perm, 1, threads, [&](std::int64_t, std::int64_t b, std::int64_t) {
        Rng rng(p.options.seed, 1000 + static_cast<std::uint64_t>(b));
        std::vector<std::int64_t> stage, label;
        permute_within_blocks(p.data, rng, stage, label, blocks);
        if (frozen) {
            const auto a = anchors_of(p, z_cells, rows, stage, label, 1);
            if (a.rows.rows() >= 2) null[b] = ruler_correlation(a.rows.cast<double>(), a.stage, p.distance);
        } else {
            const auto a = anchors_of(p, p.f, rows, stage, label, 1);
            std::set<std::int64_t> distinct(a.stage.begin(), a.stage.end());
            if (a.rows.rows() >= 2 && distinct.size() >= 2) {
                const auto adaptor = fit_on(p, a, p.options.adaptor.k, 1, epochs);
                null[b] = ruler_correlation(encode(adaptor, a.rows, 1), a.stage, p.distance);
            }
        }
        if (p.options.progress) {
            std::lock_guard lock(progress_mutex);
            p.options.progress(++done, n_perm);
        }
    });
    auto summary = summarize_permutations(observed, null, t.alpha);
    summary.refit = t.refit;
    summary.epochs = t.epochs;
    return summary;
}

/// Ruler correlation on anchors, trustworthiness and geodesic correlation on the subsample,
/// for one encoder.
struct InSample {
    double ruler = 0, trust = 0, trust_anchors = std::numeric_limits<double>::quiet_NaN(), geodesic = 0;
    std::int64_t geodesic_pairs = 0;
};

InSample in_sample(const Prepared& p, const Adaptor& adaptor, const AnchorSet& anchors,
                   const std::vector<std::int64_t>& subsample, int threads) {
    InSample s;
    s.ruler = ruler_correlation(encode(adaptor, anchors.rows, threads), anchors.stage, p.distance);
    const RowMatrixF x = take_rows(p.f, subsample);
    const RowMatrixF z = adaptor.encode(x, threads);
    s.trust = trustworthiness(x, z, {.k = p.options.trust_k, .threads = threads});
    if (anchors.rows.rows() > 2 * p.options.trust_k)
        s.trust_anchors = trustworthiness(anchors.rows, adaptor.encode(anchors.rows, threads), {.k = p.options.trust_k, .threads = threads});
    std::vector<std::int64_t> stage;
    for (const auto r : subsample) stage.push_back(p.data.stage[r]);
    std::tie(s.geodesic, s.geodesic_pairs) = geodesic_correlation(z.cast<double>(), stage, p.distance, p.options.geodesic_k, threads);
    return s;
}

} // namespace

ManifoldValidationResult validate_manifold(const ManifoldData& data, const Ruler& ruler,
                                           const ManifoldValidationOptions& options, const FrozenEncoder* frozen) {
    const auto n = data.n_cells();
    const auto sz = static_cast<std::size_t>(n);
    if (data.stage.size() != sz || data.donor.size() != sz || data.tissue.size() != sz || data.label.size() != sz)
        throw Error("validate: stage, donor, tissue and label need one entry per cell");
    for (std::size_t i = 0; i < sz; ++i)
        if (data.stage[i] < 0 || data.stage[i] >= static_cast<std::int64_t>(ruler.stages.size()) || data.donor[i] < 0 ||
            data.tissue[i] < 0 || data.label[i] < 0)
            throw Error(fmt::format("validate: cell {} has a stage, donor, tissue or label code out of range", i));
    if (options.max_cells > kMaxSubsampleCells || options.max_cells < 2 * options.trust_k + 1)
        throw Error(fmt::format("validate: the subsample must hold {}..{} cells (trustworthiness needs k < n / 2 and n^2 work)",
                                2 * options.trust_k + 1, kMaxSubsampleCells));
    const auto needed = min_permutations(options.alpha);
    if (std::set<std::int64_t>(data.stage.begin(), data.stage.end()).size() < 2)
        throw Error("validate: the cells cover fewer than two stages of the ruler");
    if (frozen && frozen->adaptor.n_features() != data.features.cols())
        throw Error(fmt::format("validate: the frozen adaptor reads {} features, the data has {}",
                                frozen->adaptor.n_features(), data.features.cols()));

    const int threads = options.threads;
    Prepared p{data, data.features, ruler_distances(ruler), options};
    if (frozen) frozen->standardizer.apply_in_place(p.f);
    else Standardizer::fit(p.f).apply_in_place(p.f);

    ManifoldValidationResult r;
    r.cells = n;
    r.features = data.features.cols();
    r.frozen = frozen != nullptr;
    const auto rows = all_rows(n);
    const auto anchors = anchors_of(p, p.f, rows, data.stage, data.label, threads);
    if (anchors.rows.rows() < 3)
        throw Error(fmt::format("validate: only {} donor x tissue x cell-type groups have >= {} cells (need 3)",
                                anchors.rows.rows(), options.min_anchor_cells));
    r.anchors = anchors.rows.rows();
    const auto subsample = seeded_sample(n, options.max_cells, options.seed, 100);
    r.subsample_cells = static_cast<std::int64_t>(subsample.size());
    if (r.subsample_cells <= 2 * options.trust_k)
        throw Error(fmt::format("validate: {} cells are too few for trustworthiness with k = {}", n, options.trust_k));

    const Adaptor main = frozen ? frozen->adaptor : fit_on(p, anchors, options.adaptor.k, threads);
    r.k = main.k();
    const auto s = in_sample(p, main, anchors, subsample, threads);
    r.ruler_correlation = s.ruler;
    r.trustworthiness = s.trust;
    r.trustworthiness_anchors = s.trust_anchors;
    r.geodesic_correlation = s.geodesic;
    r.geodesic_pairs = s.geodesic_pairs;

    r.gates.push_back(random_gate(p, options.adaptor.k, threads));
    r.gates.push_back(donor_gate(p, threads));
    r.gates.push_back(branch_gate(p, ruler, threads));

    for (const auto k : options.dimensions) {
        if (k < 1 || k >= r.features) throw Error(fmt::format("validate: sweep dimension {} is not in [1, {})", k, r.features));
        DimensionSweepRow row{.k = k};
        if (!frozen && k == options.adaptor.k) {
            // the main fit already is this fit (same anchors, seed and steps): reuse, do not refit
            row.ruler_correlation = r.ruler_correlation;
            row.trustworthiness = r.trustworthiness;
            row.geodesic_correlation = r.geodesic_correlation;
            row.random_holdout = r.gates.front().score;
            r.sweep.push_back(row);
            continue;
        }
        const auto a = fit_on(p, anchors, k, threads);
        const auto sk = in_sample(p, a, anchors, subsample, threads);
        row.ruler_correlation = sk.ruler;
        row.trustworthiness = sk.trust;
        row.geodesic_correlation = sk.geodesic;
        row.random_holdout = random_gate(p, k, threads).score;
        r.sweep.push_back(row);
    }

    r.permutation = permutation_test(p, anchors, r.ruler_correlation, frozen, threads);

    if (!(r.trustworthiness >= options.trust_gate))
        r.failures.push_back(fmt::format("trustworthiness {:.3f} < {:.2f}", r.trustworthiness, options.trust_gate));
    for (const auto& g : r.gates)
        if (!g.passed) r.failures.push_back(fmt::format("{} gate {:.3f} < {:.2f}", g.name, g.score, options.holdout_gate));
    const auto& t = r.permutation;
    if (options.permutations <= 0)
        r.failures.push_back(fmt::format("permutation test not run (0 permutations); its gate is p <= {:g}", options.alpha));
    else if (t.permutations < needed)
        r.failures.push_back(fmt::format("permutation p = {:.3g}: with {} permutations the floor 1/{} = {:.3g} exceeds alpha = {:g} "
                                         "(it needs >= {})",
                                         t.p_greater, t.permutations, t.permutations + 1, t.p_floor_greater, options.alpha, needed));
    else if (!t.passed)
        r.failures.push_back(fmt::format("permutation p = {:.3g} > {:g}", t.p_greater, options.alpha));
    r.passed = r.failures.empty();
    return r;
}

std::int64_t min_permutations(double alpha) {
    if (!(alpha > 0 && alpha <= 1)) throw Error(fmt::format("validate: the permutation gate alpha = {} is not in (0, 1]", alpha));
    auto n = static_cast<std::int64_t>(std::ceil(1.0 / alpha)) - 1;
    // the same comparison as the gate, so rounding in 1 / alpha cannot put n one off
    while (1.0 / static_cast<double>(n + 1) > alpha) ++n;
    while (n > 0 && 1.0 / static_cast<double>(n) <= alpha) --n;
    return n;
}

ManifoldData label_lookup_control(const ManifoldData& data, std::int64_t dimension, std::uint64_t seed) {
    if (dimension < 1) throw Error("validate: the label-lookup code needs at least one dimension");
    ManifoldData c;
    c.stage = data.stage;
    c.donor = data.donor;
    c.tissue = data.tissue;
    c.label = data.label;
    const auto n_labels = data.label.empty() ? 0 : *std::max_element(data.label.begin(), data.label.end()) + 1;
    RowMatrixF codes(n_labels, dimension);
    for (std::int64_t l = 0; l < n_labels; ++l) {
        Rng rng(seed, 5000 + static_cast<std::uint64_t>(l));
        for (std::int64_t j = 0; j < dimension; ++j) codes(l, j) = static_cast<float>(rng.normal());
    }
    c.features.resize(data.n_cells(), dimension);
    for (std::int64_t i = 0; i < data.n_cells(); ++i) c.features.row(i) = codes.row(data.label[i]);
    return c;
}

} // namespace scx
