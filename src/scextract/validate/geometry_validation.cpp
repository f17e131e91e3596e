#include "scextract/validate/geometry_validation.hpp"

#include "scextract/adapt/adaptor.hpp"
#include "scextract/baselines/pca_projection.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/extract/panel_features.hpp"
#include "scextract/stats/metrics.hpp"
#include "scextract/stats/statistics.hpp"
#include "scextract/validate/holdout_folds.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace scx {

namespace {

/// Spearman of euclidean distances between the rows of @p z with ruler distances, over all
/// pairs (or only pairs of different stages).
double euclidean_ruler_correlation(const Eigen::MatrixXd& z, const std::vector<std::int64_t>& stage, const Eigen::MatrixXd& dist,
                                   bool distinct_stages = false) {
    std::vector<double> e, r;
    for (Eigen::Index i = 0; i < z.rows(); ++i)
        for (Eigen::Index j = i + 1; j < z.rows(); ++j) {
            if (distinct_stages && stage[i] == stage[j]) continue;
            e.push_back((z.row(i) - z.row(j)).norm());
            r.push_back(dist(stage[i], stage[j]));
        }
    return e.size() < 2 ? std::numeric_limits<double>::quiet_NaN() : spearman(e, r);
}

struct Context {
    const ManifoldData& data;
    RowMatrixF f; ///< standardised features
    Eigen::MatrixXd distance;
    const GeometryValidationOptions& options;
};

AnchorSet anchors_of(const Context& c, const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& stage,
                     const std::vector<std::int64_t>& label) {
    std::vector<std::vector<std::int64_t>> keys(3);
    std::vector<std::int64_t> s;
    for (const auto r : rows) {
        keys[0].push_back(c.data.donor[r]);
        keys[1].push_back(c.data.tissue[r]);
        keys[2].push_back(label[r]);
        s.push_back(stage[r]);
    }
    const bool everything = static_cast<std::int64_t>(rows.size()) == c.f.rows();
    return make_anchors(everything ? c.f : take_rows(c.f, rows), s, keys, {.min_cells = c.options.min_anchor_cells, .threads = 1});
}

GeodesicEmbedding fit(const Context& c, const RowMatrixF& anchors, std::int64_t k, std::uint64_t seed) {
    return fit_geodesic_embedding(anchors, {.method = c.options.method,
                                            .n_neighbors = std::min<std::int64_t>(k, anchors.rows() - 1),
                                            .dimensions = c.options.dimensions,
                                            .seed = seed,
                                            .threads = 1});
}

/// Every (k, seed); Isomap's seeds repeat its one deterministic fit, so it is fitted once per k.
/// A configuration whose kNN graph falls apart scores NaN.
std::vector<GeometrySweepRow> sweep(const Context& c, const AnchorSet& a, std::int64_t trust_k) {
    std::vector<GeometrySweepRow> rows;
    for (const auto k : c.options.neighbors) {
        std::optional<GeometrySweepRow> isomap_row;
        for (const auto seed : c.options.seeds) {
            GeometrySweepRow row{.k = std::min<std::int64_t>(k, a.rows.rows() - 1), .seed = seed};
            if (isomap_row) {
                row = *isomap_row;
                row.seed = seed;
                rows.push_back(row);
                continue;
            }
            try {
                const auto e = fit(c, a.rows, k, seed);
                row.ruler_correlation = euclidean_ruler_correlation(e.embedding, a.stage, c.distance);
                row.stress = e.stress;
                if (trust_k > 0) row.trustworthiness = trustworthiness(a.rows.cast<double>().eval(), RowMatrixD(e.embedding), {.k = trust_k, .threads = 1});
            } catch (const Error&) {
                // a disconnected kNN graph: this configuration cannot embed the anchors
            }
            if (c.options.method == GeodesicMethod::isomap) isomap_row = row;
            rows.push_back(row);
        }
    }
    return rows;
}

const GeometrySweepRow* best_of(const std::vector<GeometrySweepRow>& rows) {
    const GeometrySweepRow* best = nullptr;
    for (const auto& r : rows)
        if (std::isfinite(r.ruler_correlation) && (!best || r.ruler_correlation > best->ruler_correlation)) best = &r;
    return best;
}

/// Fits on the anchors of the cells not held out, places the held-out anchors, scores their pairs.
std::pair<double, std::string> holdout_score(const Context& c, const std::vector<char>& held, const GeometrySweepRow& config,
                                             bool distinct_stages) {
    std::vector<std::int64_t> train, test;
    for (std::int64_t i = 0; i < c.f.rows(); ++i) (held[i] ? test : train).push_back(i);
    const auto nan = std::numeric_limits<double>::quiet_NaN();
    if (train.empty() || test.empty()) return {nan, "no cells on one side"};
    const auto a_train = anchors_of(c, train, c.data.stage, c.data.label);
    const auto a_test = anchors_of(c, test, c.data.stage, c.data.label);
    if (a_train.rows.rows() <= c.options.dimensions + 1)
        return {nan, fmt::format("{} training anchors are too few for a {}-D embedding", a_train.rows.rows(), c.options.dimensions)};
    if (a_test.rows.rows() < 2) return {nan, "fewer than two held-out anchors"};
    const auto n_test_stages = std::set<std::int64_t>(a_test.stage.begin(), a_test.stage.end()).size();
    if (distinct_stages && n_test_stages < 3)
        return {nan, fmt::format("{} held-out stage(s): pairs of different stages need >= 3 to have an order", n_test_stages)};
    try {
        const auto e = fit(c, a_train.rows, config.k, config.seed);
        const double s = euclidean_ruler_correlation(place_rows(e, a_test.rows, 1), a_test.stage, c.distance, distinct_stages);
        if (!std::isfinite(s)) return {nan, "the held-out pairs have constant ruler or embedding distances"};
        return {s, {}};
    } catch (const Error& err) {
        return {nan, err.what()};
    }
}

HoldoutGate gate_of(const Context& c, const std::string& name, const std::vector<HoldoutFold>& folds, const GeometrySweepRow& config,
                    bool distinct_stages) {
    HoldoutGate g;
    g.name = name;
    for (const auto& fold : folds) {
        const auto [s, why] = holdout_score(c, fold.held, config, distinct_stages);
        if (std::isfinite(s)) g.folds.push_back({fold.name, s});
        else g.skipped.push_back(fold.name + ": " + why);
    }
    finish_gate(g, c.options.holdout_gate);
    return g;
}

} // namespace

GeometryValidationResult validate_geometry(const ManifoldData& data, const Ruler& ruler, const GeometryValidationOptions& o) {
    const auto n = data.n_cells();
    const auto sz = static_cast<std::size_t>(n);
    if (data.stage.size() != sz || data.donor.size() != sz || data.tissue.size() != sz || data.label.size() != sz)
        throw Error("validate: stage, donor, tissue and label need one entry per cell");
    if (o.neighbors.empty() || o.seeds.empty()) throw Error("validate: the geometry sweep needs at least one k and one seed");
    if (std::set<std::int64_t>(data.stage.begin(), data.stage.end()).size() < 2)
        throw Error("validate: the cells cover fewer than two stages of the ruler");
    Context c{data, data.features, ruler_distances(ruler), o};
    Standardizer::fit(c.f).apply_in_place(c.f);
    std::vector<std::int64_t> all(sz);
    std::iota(all.begin(), all.end(), 0);
    const auto anchors = anchors_of(c, all, data.stage, data.label);
    const auto n_anchors = anchors.rows.rows();
    if (n_anchors < 4 || o.dimensions < 1 || o.dimensions >= n_anchors - 1)
        throw Error(fmt::format("validate: {} anchors (donor x tissue x cell-type groups of >= {} cells) cannot carry a {}-D "
                                "geometry; it needs at least dimensions + 2 and 4",
                                n_anchors, o.min_anchor_cells, o.dimensions));

    GeometryValidationResult r;
    r.method = geodesic_method_name(o.method);
    r.cells = n;
    r.anchors = n_anchors;
    r.features = data.features.cols();
    r.dimensions = o.dimensions;
    r.trust_k = std::min<std::int64_t>(o.trust_k, (n_anchors - 1) / 2); // scikit-learn needs k < n / 2
    r.sweep = sweep(c, anchors, r.trust_k);
    const auto* best = best_of(r.sweep);
    if (!best) throw Error("validate: no configuration of the geometry sweep could embed the anchors (every kNN graph falls apart)");
    r.chosen = *best;
    {
        const auto geo = knn_geodesic_distances(anchors.rows, r.chosen.k, 1);
        std::vector<double> g, d;
        for (Eigen::Index i = 0; i < n_anchors; ++i)
            for (Eigen::Index j = i + 1; j < n_anchors; ++j) g.push_back(geo(i, j)), d.push_back(c.distance(anchors.stage[i], anchors.stage[j]));
        r.geodesic_correlation = spearman(g, d);
    }
    const auto pca = fit_pca_projection(anchors.rows, {.n_components = o.dimensions, .threads = 1});
    r.pca_correlation = euclidean_ruler_correlation(pca.scores.cast<double>(), anchors.stage, c.distance);
    r.pca_margin = r.chosen.ruler_correlation - r.pca_correlation;

    r.gates.push_back(gate_of(c, "random", {random_group_fold(data, o.random_fraction, o.seed)}, r.chosen, false));
    r.gates.push_back(gate_of(c, "leave_donor", donor_holdout_folds(data, o.donor_folds, o.seed), r.chosen, false));
    r.gates.push_back(gate_of(c, "leave_branch", branch_holdout_folds(data, ruler), r.chosen, true));

    // permutation test: the whole sweep under shuffled labels, its best correlation the statistic
    std::vector<double> null(static_cast<std::size_t>(std::max<std::int64_t>(o.permutations, 0)), std::numeric_limits<double>::quiet_NaN());
    const auto blocks = donor_tissue_blocks(data);
    std::int64_t done = 0;
    std::mutex progress_mutex;
    parallel_for(static_cast<std::int64_t>(null.size()), 1, o.threads, [&](std::int64_t, std::int64_t b, std::int64_t) {
        Rng rng(o.seed, 1000 + static_cast<std::uint64_t>(b));
        std::vector<std::int64_t> stage, label;
        permute_within_blocks(data, rng, stage, label, blocks);
        const auto a = anchors_of(c, all, stage, label);
        if (a.rows.rows() > o.dimensions + 1 && std::set<std::int64_t>(a.stage.begin(), a.stage.end()).size() >= 2)
            if (const auto* pb = best_of(sweep(c, a, 0))) null[b] = pb->ruler_correlation;
        if (o.progress) {
            std::lock_guard lock(progress_mutex);
            o.progress(++done, static_cast<std::int64_t>(null.size()));
        }
    });
    r.permutation = summarize_permutations(r.chosen.ruler_correlation, null, o.alpha);

    if (!(r.chosen.trustworthiness >= o.trust_gate))
        r.failures.push_back(fmt::format("trustworthiness {:.3f} < {:.2f}", r.chosen.trustworthiness, o.trust_gate));
    if (!(r.pca_margin > o.pca_margin))
        r.failures.push_back(fmt::format("PCA-{} margin {:+.3f} (ruler correlation {:.3f} vs PCA {:.3f}) is not above {:+.3f}", o.dimensions,
                                         r.pca_margin, r.chosen.ruler_correlation, r.pca_correlation, o.pca_margin));
    for (const auto& g : r.gates)
        if (!g.passed) r.failures.push_back(fmt::format("{} gate {:.3f} < {:.2f}", g.name, g.score, o.holdout_gate));
    if (o.permutations < min_permutations(o.alpha))
        r.failures.push_back(fmt::format("permutation p = {:.3g}: with {} permutations the floor {:.3g} exceeds alpha = {:g}",
                                         r.permutation.p_greater, o.permutations, r.permutation.p_floor_greater, o.alpha));
    else if (!r.permutation.passed)
        r.failures.push_back(fmt::format("permutation p = {:.3g} > {:g}", r.permutation.p_greater, o.alpha));
    r.passed = r.failures.empty();
    return r;
}

} // namespace scx
