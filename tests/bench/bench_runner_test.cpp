// The runner with toy methods whose quality is known: an oracle that returns the truth and
// a method that returns noise. Checks endpoints per donor, not-applicable handling,
// comparisons in both units, BH and the figures.

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/bench/bench_runner.hpp"
#include "scextract/io/ruler_json.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace scx {
namespace {

struct ToyCells {
    CsrMatrix counts;
    BenchCells cells;
};

/// @p n_donors donors x 40 cells over six stages (two per binary task side, plus HSC and naive B).
std::unique_ptr<ToyCells> toy_cells(std::int64_t n_donors, bool some_unmapped = false) {
    const std::vector<std::string> stages = {"HSC", "classical_monocyte", "macrophage", "naive_CD4_T", "naive_CD8_T", "naive_B"};
    auto t = std::make_unique<ToyCells>();
    std::vector<std::string> labels, donors;
    for (std::int64_t d = 0; d < n_donors; ++d)
        for (std::int64_t i = 0; i < 40; ++i) {
            labels.push_back(some_unmapped && i % 10 == 7 ? "cluster 3" : stages[static_cast<std::size_t>(i % 6)]);
            donors.push_back("donor" + std::to_string(100 + d));
        }
    const auto n = static_cast<std::int64_t>(labels.size());
    t->counts.n_rows = n;
    t->counts.n_cols = 2;
    t->counts.indptr.assign(static_cast<std::size_t>(n + 1), 0);
    BenchCellsOptions o;
    o.panel = {"A", "B"};
    t->cells = make_bench_cells(t->counts, {"A", "B"}, default_hematopoiesis_ruler(),
                                std::string(default_hematopoiesis_ruler_json()), labels, donors, {}, o);
    return t;
}

/// Returns the truth (optionally without pseudotime or binary tasks).
class OracleMethod final : public BenchMethod {
public:
    explicit OracleMethod(std::string name, bool pseudotime = true) : name_(std::move(name)), pseudotime_(pseudotime) {}
    [[nodiscard]] MethodInfo info() const override {
        return {name_, "truth", pseudotime_ ? PseudotimeClass::supervised : PseudotimeClass::none, 0};
    }
    MethodPrediction run_split(const BenchCells& c, std::span<const std::int64_t>, std::span<const std::int64_t> test, int) override {
        MethodPrediction p;
        const auto n = static_cast<Eigen::Index>(test.size());
        if (pseudotime_) p.pseudotime.resize(n);
        p.latent = RowMatrixF::Zero(n, 3);
        for (Eigen::Index k = 0; k < n; ++k) {
            const auto i = test[static_cast<std::size_t>(k)];
            if (pseudotime_) p.pseudotime(k) = 2.0 * c.depth[i] + 1.0; // monotone in depth, ties where depth ties
            p.branch.push_back(c.branch[i]);
            p.stage.push_back(c.stage[i]);
            p.latent(k, 0) = static_cast<float>(c.depth[i]);
            p.latent(k, 1) = static_cast<float>(c.branch[i]);
            p.latent(k, 2) = static_cast<float>(k % 3);
        }
        for (const auto& task : c.binary_tasks) {
            Eigen::VectorXd s(n);
            for (Eigen::Index k = 0; k < n; ++k) s(k) = task.label[test[static_cast<std::size_t>(k)]] == 1 ? 0.9 : 0.1;
            p.binary_scores.push_back(s);
        }
        return p;
    }

private:
    std::string name_;
    bool pseudotime_;
};

/// Seeded noise for every output.
class NoiseMethod final : public BenchMethod {
public:
    [[nodiscard]] MethodInfo info() const override { return {"noise", "random", PseudotimeClass::supervised, 0}; }
    MethodPrediction run_split(const BenchCells& c, std::span<const std::int64_t>, std::span<const std::int64_t> test, int) override {
        Rng rng(9, static_cast<std::uint64_t>(test.front()));
        MethodPrediction p;
        const auto n = static_cast<Eigen::Index>(test.size());
        p.pseudotime.resize(n);
        for (Eigen::Index k = 0; k < n; ++k) {
            p.pseudotime(k) = rng.normal();
            p.branch.push_back(static_cast<std::int64_t>(rng.below(c.ruler->branches.size())));
            p.stage.push_back(static_cast<std::int64_t>(rng.below(c.ruler->stages.size())));
        }
        for (std::size_t t = 0; t < c.binary_tasks.size(); ++t) {
            Eigen::VectorXd s(n);
            for (Eigen::Index k = 0; k < n; ++k) s(k) = rng.uniform();
            p.binary_scores.push_back(s);
        }
        return p;
    }
};

std::vector<std::unique_ptr<BenchMethod>> methods(bool with_no_pseudotime) {
    std::vector<std::unique_ptr<BenchMethod>> m;
    m.push_back(std::make_unique<OracleMethod>("oracle"));
    m.push_back(std::make_unique<NoiseMethod>());
    if (with_no_pseudotime) m.push_back(std::make_unique<OracleMethod>("classes_only", false));
    return m;
}

TEST(BenchRunner, OracleScoresOneAndBeatsNoiseSignificantly) {
    const auto t = toy_cells(20);
    const auto m = methods(true);
    BenchOptions o;
    o.splits = {.n_splits = 12, .test_donors = 4};
    const auto r = run_bench(t->cells, m, o);
    ASSERT_EQ(r.methods.size(), 3U);
    EXPECT_EQ(r.reference, "oracle");
    ASSERT_EQ(r.endpoints.size(), 9U);
    for (std::size_t e = 0; e < r.endpoints.size(); ++e)
        for (const auto& s : r.methods[0].scores) EXPECT_NEAR(s.split_value[e], 1.0, 1e-12) << r.endpoints[e].name;
    // classes_only has no pseudotime: depth is not applicable (NaN), never 0.
    const auto depth = r.endpoints.size() - 1;
    ASSERT_EQ(r.endpoints[depth].name, "depth_spearman");
    for (const auto& s : r.methods[2].scores) EXPECT_TRUE(std::isnan(s.split_value[depth]));

    std::int64_t tested = 0;
    for (const auto& c : r.comparisons) {
        if (c.method == "noise") {
            EXPECT_TRUE(c.significant) << c.endpoint << " " << c.unit << " p=" << c.p << " q=" << c.q;
            EXPECT_GT(c.mean_reference, c.mean_method);
            EXPECT_EQ(c.n, c.unit == "splits" ? 12 : static_cast<std::int64_t>(r.splits.distinct_test_donors.size()));
            ++tested;
        }
        // No depth comparison across pseudotime classes.
        if (c.method == "classes_only") {
            EXPECT_NE(c.endpoint, "depth_spearman");
        }
    }
    EXPECT_EQ(tested, 18); // 9 endpoints x 2 units
    // Identical outputs: every difference zero, p = 1, not significant.
    for (const auto& c : r.comparisons)
        if (c.method == "classes_only") {
            EXPECT_EQ(c.p, 1.0) << c.endpoint;
            EXPECT_FALSE(c.significant);
        }
    EXPECT_EQ(r.manifold_figures.size(), 2U); // every method with a latent: oracle, classes_only
    EXPECT_EQ(r.pseudotime_figures.size(), 2U);
    EXPECT_EQ(r.roc_figures.size(), 3U * 2U);
    for (const auto& m2 : r.methods) {
        EXPECT_EQ(m2.split_seconds.size(), 12U);
        EXPECT_EQ(m2.donor_means.size(), r.endpoints.size());
    }
}

TEST(BenchRunner, CellsWhoseLabelReachesNoStageStayOutOfTheManifoldFigure) {
    // A real file's labels often include clusters no stage takes; the figure used to carry
    // their stage -1, which results.json's reader refuses after every split had run.
    const auto t = toy_cells(6, true);
    ASSERT_GT(std::count(t->cells.stage.begin(), t->cells.stage.end(), -1), 0);
    const auto m = methods(false);
    BenchOptions o;
    o.splits = {.n_splits = 2, .test_donors = 2};
    const auto r = run_bench(t->cells, m, o);
    ASSERT_EQ(r.manifold_figures.size(), 1U);
    EXPECT_FALSE(r.manifold_figures[0].stage.empty());
    for (const auto s : r.manifold_figures[0].stage) EXPECT_GE(s, 0);
    EXPECT_EQ(r.manifold_figures[0].x.size(), r.manifold_figures[0].stage.size());
}

TEST(BenchRunner, FiguresCarryLabelsPredictionsBranchesAndConfusion) {
    const auto t = toy_cells(6, true);
    const auto m = methods(false);
    BenchOptions o;
    o.splits = {.n_splits = 2, .test_donors = 2};
    const auto r = run_bench(t->cells, m, o);
    // labels of cells that reach a stage, sorted; "cluster 3" maps to none
    EXPECT_EQ(r.figure_labels, (std::vector<std::string>{"HSC", "classical_monocyte", "macrophage", "naive_B",
                                                         "naive_CD4_T", "naive_CD8_T"}));
    ASSERT_EQ(r.manifold_figures.size(), 1U); // the noise method has no latent
    const auto& v = r.manifold_figures[0];
    ASSERT_EQ(v.label.size(), v.x.size());
    ASSERT_EQ(v.predicted_stage.size(), v.x.size());
    for (std::size_t i = 0; i < v.x.size(); ++i) {
        EXPECT_EQ(r.figure_labels[static_cast<std::size_t>(v.label[i])], t->cells.ruler->stages[static_cast<std::size_t>(v.stage[i])].name);
        EXPECT_EQ(v.predicted_stage[i], v.stage[i]); // the oracle predicts the true stage
    }
    for (const auto& f : r.pseudotime_figures) {
        ASSERT_EQ(f.branch.size(), f.depth.size());
        for (const auto b : f.branch) EXPECT_GE(b, 0);
    }
    // one branch and one stage table per method predicting them; the oracle's is diagonal
    ASSERT_EQ(r.confusion_figures.size(), 4U);
    const auto split = r.splits.splits[static_cast<std::size_t>(r.figure_split)];
    std::int64_t mapped = 0;
    for (const auto c : split.test) mapped += t->cells.stage[static_cast<std::size_t>(c)] >= 0;
    for (const auto& c : r.confusion_figures) {
        const auto n = c.task == "branch" ? t->cells.ruler->branches.size() : t->cells.ruler->stages.size();
        ASSERT_EQ(c.counts.size(), n) << c.method << " " << c.task;
        std::int64_t total = 0, diagonal = 0;
        for (std::size_t i = 0; i < n; ++i) {
            ASSERT_EQ(c.counts[i].size(), n + 1);
            for (const auto x : c.counts[i]) total += x;
            diagonal += c.counts[i][i];
        }
        EXPECT_EQ(total, mapped) << c.method << " " << c.task;
        if (c.method == "oracle") EXPECT_EQ(diagonal, total) << c.task;
    }
}

TEST(BenchRunner, DonorsWithoutATaskClassAreNotApplicable) {
    const auto t = toy_cells(6);
    // Strip every CD8 cell of donor 0: cd4_cd8 is not applicable there.
    auto& cells = t->cells;
    for (std::int64_t i = 0; i < cells.n_cells(); ++i)
        if (cells.donor[i] == 0)
            for (auto& task : cells.binary_tasks)
                if (task.name == "cd4_cd8" && task.label[i] == 1) task.label[i] = -1;
    DonorSplit split{0, {0, 1}, {}, {}};
    for (std::int64_t i = 0; i < cells.n_cells(); ++i) (cells.donor[i] <= 1 ? split.test : split.train).push_back(i);
    OracleMethod oracle("oracle");
    const auto p = oracle.run_split(cells, split.train, split.test, 1);
    const auto endpoints = select_endpoints(cells, {"cd4_cd8_auroc", "stage_macro_f1"});
    const auto s = score_split(cells, split, p, endpoints, {});
    EXPECT_TRUE(std::isnan(s.donor_value[0][0]));
    EXPECT_NEAR(s.donor_value[0][1], 1.0, 1e-12);
    EXPECT_NEAR(s.split_value[0], 1.0, 1e-12); // the mean over donors with a value
    EXPECT_NEAR(s.split_value[1], 1.0, 1e-12);
}

TEST(BenchRunner, RefusesUnknownEndpointsReferencesAndDuplicateNames) {
    const auto t = toy_cells(6);
    EXPECT_THROW((void)select_endpoints(t->cells, {"stage_accuracy"}), Error);
    auto m = methods(false);
    BenchOptions o;
    o.splits = {.n_splits = 2};
    o.reference = "missing";
    EXPECT_THROW((void)run_bench(t->cells, m, o), Error);
    m.push_back(std::make_unique<NoiseMethod>());
    o.reference.clear();
    EXPECT_THROW((void)run_bench(t->cells, m, o), Error);
}

// Ladder and control pairs: compared like the reference comparisons, but each kind is its
// own BH family, so the reference comparisons keep their q-values; unknown names are refused
// before any split runs.
TEST(BenchRunner, PairsAreComparedInTheirOwnFamilies) {
    const auto t = toy_cells(20);
    const auto m = methods(true);
    BenchOptions o;
    o.splits = {.n_splits = 6};
    const auto plain = run_bench(t->cells, m, o);
    o.pairs = {{"noise", "oracle", "ladder"}, {"classes_only", "noise", "ladder"}, {"oracle", "noise", "control"}};
    const auto r = run_bench(t->cells, m, o);

    std::vector<const BenchComparison*> reference, ladder, control;
    for (const auto& c : r.comparisons)
        (c.kind == "reference" ? reference : c.kind == "ladder" ? ladder : control).push_back(&c);
    ASSERT_EQ(reference.size(), plain.comparisons.size());
    for (std::size_t i = 0; i < reference.size(); ++i) {
        EXPECT_EQ(reference[i]->method, plain.comparisons[i].method);
        EXPECT_EQ(std::isnan(reference[i]->q), std::isnan(plain.comparisons[i].q));
        if (!std::isnan(reference[i]->q)) {
            EXPECT_EQ(reference[i]->q, plain.comparisons[i].q); // the pairs did not join its family
        }
    }
    // noise against the oracle: worse on every endpoint, significantly over splits and donors
    std::int64_t noise_losses = 0;
    for (const auto* c : ladder)
        if (c->method == "noise") {
            EXPECT_EQ(c->reference, "oracle");
            EXPECT_LT(c->mean_method, c->mean_reference) << c->endpoint;
            noise_losses += c->significant;
        }
    EXPECT_GE(noise_losses, 8);
    // classes_only has no pseudotime: no depth comparison across that gap
    for (const auto* c : ladder) {
        if (c->method == "classes_only") {
            EXPECT_NE(c->endpoint, "depth_spearman");
        }
    }
    ASSERT_FALSE(control.empty());
    for (const auto* c : control) {
        EXPECT_EQ(c->method, "oracle");
        EXPECT_EQ(c->reference, "noise");
        EXPECT_GT(c->mean_method, c->mean_reference) << c->endpoint;
    }

    o.pairs = {{"noise", "not_a_method", "ladder"}};
    try {
        (void)run_bench(t->cells, m, o);
        FAIL() << "an unknown pair name was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not_a_method"), std::string::npos) << e.what();
    }
}

TEST(BenchRunner, ResultsDoNotDependOnThreads) {
    const auto t = toy_cells(10);
    const auto m = methods(false);
    BenchOptions o;
    o.splits = {.n_splits = 4};
    o.threads = 1;
    const auto a = run_bench(t->cells, m, o);
    o.threads = 2;
    const auto b = run_bench(t->cells, m, o);
    ASSERT_EQ(a.comparisons.size(), b.comparisons.size());
    for (std::size_t i = 0; i < a.comparisons.size(); ++i) {
        EXPECT_EQ(std::isnan(a.comparisons[i].p), std::isnan(b.comparisons[i].p));
        if (!std::isnan(a.comparisons[i].p)) {
            EXPECT_EQ(a.comparisons[i].p, b.comparisons[i].p);
        }
    }
}

} // namespace
} // namespace scx
