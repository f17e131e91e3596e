#include "scextract/validate/manifold_validation.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/validate/null_ruler.hpp"
#include "scextract/stats/ruler_correlation.hpp"
#include "scextract/io/ruler_json.hpp"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>

#include <fmt/format.h>

namespace scx {
namespace {

/// The shape of a planted bed: every @p stage_step-th stage, @p cells per donor x tissue x stage.
struct BedShape {
    std::int64_t donors = 6, tissues = 2, stage_step = 2; // every other stage keeps the test small
    int cells = 6;
};

/// Cells whose features place each stage at its classical-MDS position of the ruler
/// distances (plus noise), or pure noise when @p structured is false.
ManifoldData make_cells(const Ruler& ruler, bool structured, std::uint64_t seed, const BedShape& shape = {}) {
    const Eigen::MatrixXd d = ruler_distances(ruler);
    const auto s = d.rows();
    const Eigen::MatrixXd j = Eigen::MatrixXd::Identity(s, s) - Eigen::MatrixXd::Constant(s, s, 1.0 / static_cast<double>(s));
    const Eigen::MatrixXd b = -0.5 * j * d.array().square().matrix() * j;
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(b);
    const int dims = 12;
    Eigen::MatrixXd pos(s, dims);
    for (int c = 0; c < dims; ++c) {
        const auto idx = s - 1 - c; // largest eigenvalues last
        pos.col(c) = eig.eigenvectors().col(idx) * std::sqrt(std::max(0.0, eig.eigenvalues()(idx)));
    }
    ManifoldData m;
    Rng rng(seed);
    std::vector<std::vector<float>> rows;
    for (std::int64_t donor = 0; donor < shape.donors; ++donor)
        for (std::int64_t tissue = 0; tissue < shape.tissues; ++tissue)
            for (std::int64_t stage = 0; stage < s; stage += shape.stage_step)
                for (int c = 0; c < shape.cells; ++c) {
                    std::vector<float> f(dims);
                    for (int k = 0; k < dims; ++k)
                        f[k] = static_cast<float>((structured ? pos(stage, k) : 0.0) + 0.3 * rng.normal());
                    rows.push_back(f);
                    m.stage.push_back(stage);
                    m.label.push_back(stage);
                    m.donor.push_back(donor);
                    m.tissue.push_back(tissue);
                }
    m.features.resize(static_cast<Eigen::Index>(rows.size()), dims);
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (int k = 0; k < dims; ++k) m.features(static_cast<Eigen::Index>(i), k) = rows[i][k];
    return m;
}

ManifoldValidationOptions fast_options() {
    ManifoldValidationOptions o;
    o.adaptor.epochs = 150;
    o.adaptor.k = 6;
    o.permutations = 19;
    o.permutation_epochs = 60;
    o.alpha = 0.1; // 19 permutations floor p at 0.05, above METHOD.md's 0.001
    o.max_cells = 300;
    o.dimensions = {3};
    o.donor_folds = 3;
    o.threads = 1;
    return o;
}

TEST(ManifoldValidation, StructuredCellsPassAndNoiseFails) {
    const auto ruler = default_hematopoiesis_ruler();
    const auto o = fast_options();
    const auto good = validate_manifold(make_cells(ruler, true, 1), ruler, o);
    EXPECT_GT(good.ruler_correlation, 0.7);
    EXPECT_GT(good.trustworthiness, 0.8);
    EXPECT_GT(good.geodesic_correlation, 0.5);
    ASSERT_EQ(good.gates.size(), 3u);
    for (const auto& g : good.gates) {
        EXPECT_TRUE(g.passed) << g.name << " " << g.score;
        EXPECT_FALSE(g.folds.empty()) << g.name;
        EXPECT_LE(g.worst, g.score);
    }
    EXPECT_EQ(good.gates[1].folds.size(), 3u); // three donor folds
    EXPECT_TRUE(good.permutation.refit);
    EXPECT_DOUBLE_EQ(good.permutation.p_greater, 1.0 / 20.0); // at the floor: no permutation reaches it
    EXPECT_DOUBLE_EQ(good.permutation.p_floor_greater, 1.0 / 20.0);
    EXPECT_DOUBLE_EQ(good.permutation.p_two_sided, 2.0 / 20.0);
    EXPECT_LT(good.permutation.null_max, good.permutation.observed);
    ASSERT_EQ(good.sweep.size(), 1u);
    EXPECT_EQ(good.sweep[0].k, 3);
    EXPECT_GT(good.sweep[0].ruler_correlation, 0.5);
    EXPECT_TRUE(good.passed) << (good.failures.empty() ? "" : good.failures[0]);

    const auto noise = validate_manifold(make_cells(ruler, false, 2), ruler, o);
    EXPECT_FALSE(noise.passed);
    EXPECT_FALSE(noise.failures.empty());
    EXPECT_LT(noise.gates[1].score, 0.2); // unseen donors: nothing to transfer
    EXPECT_GT(noise.permutation.p_greater, 0.05);
}

// METHOD.md's gate at full strength on a small planted bed (every stage, 3 donors): 999
// refitted permutations put the floor at 1/1000 = alpha. The true ruler passes; the null ruler
// (stages shuffled within branch) on the same cells must fail. It fails on leave-branch-out
// only: a refitted adaptor fits a shuffled ruler in sample and carries it to unseen donors
// (its permutation p is at the floor too); only unseen stages test the ruler itself.
TEST(ManifoldValidation, PlantedBedPassesAtTheFloorAndTheNullRulerFails) {
    const auto& ruler = default_hematopoiesis_ruler();
    const auto cells = make_cells(ruler, true, 7, {.donors = 3, .tissues = 1, .stage_step = 1, .cells = 5});
    auto o = fast_options();
    o.alpha = ManifoldValidationOptions{}.alpha;
    ASSERT_EQ(o.alpha, 0.001);
    o.permutations = 999;
    o.permutation_epochs = 30;
    o.dimensions = {};
    o.threads = 2;
    const auto real = validate_manifold(cells, ruler, o);
    const auto null = null_ruler(ruler, {.seed = 42});
    const auto control = validate_manifold(cells, null.ruler, o);
    const auto line = [](const char* name, const ManifoldValidationResult& r) {
        std::string s = fmt::format("{}: ruler {:.3f} trust {:.3f} geodesic {:.3f} gates", name, r.ruler_correlation,
                                    r.trustworthiness, r.geodesic_correlation);
        for (const auto& g : r.gates) s += fmt::format(" {} {:.3f}", g.name, g.score);
        return s + fmt::format(" | perm observed {:.3f} null mean {:.3f} max {:.3f} p {:.4g} | {}\n",
                               r.permutation.observed, r.permutation.null_mean, r.permutation.null_max,
                               r.permutation.p_greater,
                               r.passed ? "PASS" : fmt::format("FAIL: {}", fmt::join(r.failures, "; ")));
    };
    std::cout << line("real ruler", real) << line("null ruler", control)
              << fmt::format("null ruler: {} stages moved, distance Spearman with the real {:.3f}\n", null.moved,
                             null.distance_spearman);
    EXPECT_DOUBLE_EQ(real.permutation.p_floor_greater, 0.001);
    EXPECT_DOUBLE_EQ(real.permutation.p_greater, 0.001);
    EXPECT_TRUE(real.permutation.passed);
    EXPECT_TRUE(real.passed) << fmt::format("{}", fmt::join(real.failures, "; "));
    EXPECT_FALSE(control.passed);
    ASSERT_EQ(control.gates.size(), 3u);
    EXPECT_EQ(control.gates[2].name, "leave_branch");
    EXPECT_FALSE(control.gates[2].passed);
    EXPECT_TRUE(real.gates[2].passed);
    EXPECT_LT(control.ruler_correlation, real.ruler_correlation);
}

TEST(ManifoldValidation, TooFewPermutationsCannotPass) {
    const auto& ruler = default_hematopoiesis_ruler();
    const auto cells = make_cells(ruler, true, 8, {.donors = 3, .tissues = 1, .stage_step = 3, .cells = 5});
    auto o = fast_options();
    o.alpha = 0.001;
    o.permutations = 9;
    o.dimensions = {};
    const auto few = validate_manifold(cells, ruler, o);
    EXPECT_DOUBLE_EQ(few.permutation.p_floor_greater, 0.1);
    EXPECT_FALSE(few.permutation.passed);
    EXPECT_FALSE(few.passed);
    const auto floor = std::find_if(few.failures.begin(), few.failures.end(),
                                    [](const auto& f) { return f.find("floor") != std::string::npos; });
    ASSERT_NE(floor, few.failures.end());
    EXPECT_NE(floor->find("exceeds alpha"), std::string::npos) << *floor;
    EXPECT_NE(floor->find(">= 999"), std::string::npos) << *floor;
    o.permutations = 0;
    const auto none = validate_manifold(cells, ruler, o);
    EXPECT_FALSE(none.passed);
    EXPECT_TRUE(std::any_of(none.failures.begin(), none.failures.end(),
                            [](const auto& f) { return f.find("not run") != std::string::npos; }));
    o.alpha = 0;
    EXPECT_THROW(validate_manifold(cells, ruler, o), Error);
}

TEST(ManifoldValidation, SameResultForAnyThreadCount) {
    const auto ruler = default_hematopoiesis_ruler();
    auto o = fast_options();
    o.permutations = 7;
    const auto cells = make_cells(ruler, true, 3);
    const auto one = validate_manifold(cells, ruler, o);
    o.threads = 2;
    const auto two = validate_manifold(cells, ruler, o);
    EXPECT_EQ(one.ruler_correlation, two.ruler_correlation);
    EXPECT_EQ(one.trustworthiness, two.trustworthiness);
    EXPECT_EQ(one.geodesic_correlation, two.geodesic_correlation);
    for (std::size_t g = 0; g < one.gates.size(); ++g) EXPECT_EQ(one.gates[g].score, two.gates[g].score);
    EXPECT_EQ(one.permutation.null_mean, two.permutation.null_mean);
    EXPECT_EQ(one.permutation.p_greater, two.permutation.p_greater);
}

TEST(ManifoldValidation, FrozenEncoderIsNotRefitted) {
    const auto ruler = default_hematopoiesis_ruler();
    auto o = fast_options();
    const auto cells = make_cells(ruler, true, 4);
    FrozenEncoder frozen{Standardizer::fit(cells.features), {}};
    RowMatrixF f = cells.features;
    frozen.standardizer.apply_in_place(f);
    const auto anchors = make_anchors(f, cells.stage, {cells.donor, cells.tissue, cells.label});
    auto ao = o.adaptor;
    frozen.adaptor = fit_adaptor(anchors.rows, anchors.stage, ruler_distances(ruler), ao).adaptor;
    const auto r = validate_manifold(cells, ruler, o, &frozen);
    EXPECT_TRUE(r.frozen);
    EXPECT_FALSE(r.permutation.refit);
    EXPECT_EQ(r.k, 6);
    EXPECT_DOUBLE_EQ(r.permutation.p_greater, 1.0 / 20.0);
    // the frozen in-sample score is the frozen adaptor's own
    EXPECT_NEAR(r.ruler_correlation,
                ruler_correlation(frozen.adaptor.encode(anchors.rows).cast<double>(), anchors.stage, ruler_distances(ruler)), 1e-12);
    FrozenEncoder wrong = frozen;
    wrong.adaptor.W = RowMatrixF::Zero(6, 5);
    EXPECT_THROW(validate_manifold(cells, ruler, o, &wrong), Error);
}

TEST(ManifoldValidation, LabelLookupGivesOneCodePerLabel) {
    const auto ruler = default_hematopoiesis_ruler();
    const auto cells = make_cells(ruler, false, 5);
    const auto c = label_lookup_control(cells, 8, 42);
    ASSERT_EQ(c.features.rows(), cells.features.rows());
    ASSERT_EQ(c.features.cols(), 8);
    EXPECT_EQ(c.label, cells.label);
    std::set<std::vector<float>> distinct;
    for (Eigen::Index i = 0; i < c.features.rows(); ++i) {
        for (Eigen::Index j = 0; j < c.features.rows(); ++j) {
            if (c.label[i] == c.label[j]) {
                ASSERT_TRUE(c.features.row(i) == c.features.row(j));
            }
        }
        distinct.insert(std::vector<float>(c.features.row(i).data(), c.features.row(i).data() + 8));
    }
    EXPECT_EQ(distinct.size(), std::set<std::int64_t>(cells.label.begin(), cells.label.end()).size());
    // identity alone orders anchors by the ruler once the adaptor is fitted to it
    const auto r = validate_manifold(c, ruler, fast_options());
    EXPECT_GT(r.ruler_correlation, 0.5);
    EXPECT_THROW(label_lookup_control(cells, 0, 1), Error);
}

TEST(ManifoldValidation, RefusesBadInput) {
    const auto ruler = default_hematopoiesis_ruler();
    auto cells = make_cells(ruler, true, 6);
    auto o = fast_options();
    o.max_cells = 20000;
    EXPECT_THROW(validate_manifold(cells, ruler, o), Error);
    o = fast_options();
    o.dimensions = {12};
    EXPECT_THROW(validate_manifold(cells, ruler, o), Error);
    auto one_stage = cells;
    std::fill(one_stage.stage.begin(), one_stage.stage.end(), 3);
    EXPECT_THROW(validate_manifold(one_stage, ruler, fast_options()), Error);
    cells.donor.pop_back();
    EXPECT_THROW(validate_manifold(cells, ruler, fast_options()), Error);
}

TEST(RulerCorrelation, HeldPairsOnly) {
    Eigen::MatrixXd z(4, 2);
    z << 1, 0, 0, 1, -1, 0, 0.7, 0.7;
    const std::vector<std::int64_t> stage = {0, 1, 2, 0};
    Eigen::MatrixXd d(3, 3);
    d << 0, 1, 2, 1, 0, 1, 2, 1, 0;
    EXPECT_GT(ruler_correlation(z, stage, d), 0.5);
    const std::vector<char> none(4, 0);
    EXPECT_TRUE(std::isnan(ruler_correlation(z, stage, d, &none)));
}

} // namespace
} // namespace scx
