#include "scextract/validate/geometry_validation.hpp"

#include "scextract/core/random.hpp"
#include "scextract/validate/null_ruler.hpp"
#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>

namespace scx {
namespace {

constexpr int kStages = 24, kDonors = 2, kCells = 10;

/// A chain of 24 stages (two branches of 12), root s0.
Ruler chain_ruler() {
    Ruler r;
    r.name = "chain";
    r.branches = {"early", "late"};
    for (int s = 0; s < kStages; ++s) {
        r.stages.push_back({.name = "s" + std::to_string(s), .depth = s, .branch = s < kStages / 2 ? "early" : "late", .description = {}});
        if (s > 0) r.edges.emplace_back(s - 1, s);
    }
    r.root = "s0";
    return r;
}

/// Cells of each stage around a point of a spiral (one turn, t from pi to 3 pi, mixed into 8 features):
/// neighbouring stages are close along the curve, but its two ends lie close across it, so
/// straight-line distances (PCA) misorder far stages that kNN geodesics (Isomap) keep apart.
/// With @p plane the stages lie on a straight line instead: PCA is then as good as Isomap.
ManifoldData curve_cells(bool plane) {
    ManifoldData d;
    d.features.resize(kStages * kDonors * kCells, 8);
    Rng rng(7, 0);
    Eigen::MatrixXd mix(2, 8);
    for (int j = 0; j < 8; ++j) mix(0, j) = 1 + 0.5 * rng.normal(), mix(1, j) = 1 + 0.5 * rng.normal();
    mix.row(1) = mix.row(1) - mix.row(0) * (mix.row(0).dot(mix.row(1)) / mix.row(0).squaredNorm()); // the plane stays 2-D
    std::int64_t i = 0;
    for (int donor = 0; donor < kDonors; ++donor)
        for (int s = 0; s < kStages; ++s)
            for (int c = 0; c < kCells; ++c, ++i) {
                const double t = std::numbers::pi * (1 + 2.0 * s / (kStages - 1));
                const double x = plane ? t : t * std::cos(t), y = plane ? 0.0 : t * std::sin(t);
                // every feature carries the curve (features are standardised, so a pure-noise
                // feature would weigh as much as a signal one)
                for (int j = 0; j < 8; ++j)
                    d.features(i, j) = static_cast<float>(mix(0, j) * x + mix(1, j) * y + 0.05 * rng.normal());
                d.stage.push_back(s);
                d.donor.push_back(donor);
                d.tissue.push_back(0);
                d.label.push_back(s);
            }
    return d;
}

GeometryValidationOptions small(GeodesicMethod m) {
    GeometryValidationOptions o;
    o.method = m;
    // 48 anchors: the other donor's anchor of the stage + two stages each side (k = 4); k = 8
    // shortcuts the spiral's ends but keeps kNN graphs of label-shuffled anchors connected
    o.neighbors = {4, 6, 8};
    o.seeds = {42, 43};
    o.trust_k = 5;
    o.permutations = 999;
    o.threads = 1;
    return o;
}

TEST(GeometryValidation, IsomapUnrollsTheSpiralAndBeatsPca2) {
    const auto r = validate_geometry(curve_cells(false), chain_ruler(), small(GeodesicMethod::isomap));
    EXPECT_EQ(r.method, "isomap");
    EXPECT_EQ(r.anchors, kStages * kDonors);
    EXPECT_EQ(r.sweep.size(), 6u);
    EXPECT_GT(r.chosen.ruler_correlation, 0.9);
    EXPECT_LT(r.pca_correlation, r.chosen.ruler_correlation - 0.1);
    EXPECT_GT(r.pca_margin, 0.1);
    EXPECT_GT(r.geodesic_correlation, 0.9);
    for (const auto& g : r.gates) EXPECT_TRUE(g.passed) << g.name << " " << g.score;
    EXPECT_LE(r.permutation.p_greater, 0.001) << r.permutation.observed << " null " << r.permutation.null_mean << " +- " << r.permutation.null_sd << " max " << r.permutation.null_max;
    EXPECT_TRUE(r.passed) << (r.failures.empty() ? "" : r.failures.front());
}

TEST(GeometryValidation, PcaMarginGateFailsWhenPcaIsAsGood) {
    // a straight line: PCA-2 orders the stages as well as Isomap, so the margin is ~0
    auto o = small(GeodesicMethod::isomap);
    o.pca_margin = 0.02;
    const auto r = validate_geometry(curve_cells(true), chain_ruler(), o);
    EXPECT_GT(r.chosen.ruler_correlation, 0.9);
    EXPECT_LT(std::abs(r.pca_margin), 0.02);
    EXPECT_FALSE(r.passed);
    ASSERT_FALSE(r.failures.empty());
    EXPECT_NE(r.failures.front().find("PCA-2 margin"), std::string::npos) << r.failures.front();
}

TEST(GeometryValidation, NullRulerFails) {
    const auto shuffled = null_ruler(chain_ruler(), {.seed = 42});
    ASSERT_GT(shuffled.moved, 0);
    const auto r = validate_geometry(curve_cells(false), shuffled.ruler, small(GeodesicMethod::isomap));
    EXPECT_FALSE(r.passed);
    EXPECT_LT(r.chosen.ruler_correlation, 0.6);
}

TEST(GeometryValidation, GeodesicMdsSweepsSeedsAndWarnsOfTooFewPermutations) {
    auto o = small(GeodesicMethod::geodesic_mds);
    o.permutations = 20;
    const auto r = validate_geometry(curve_cells(false), chain_ruler(), o);
    EXPECT_EQ(r.method, "mds");
    EXPECT_GT(r.sweep[0].stress, 0);
    EXPECT_NE(r.sweep[0].stress, r.sweep[1].stress); // two seeds, two starts
    EXPECT_GT(r.chosen.ruler_correlation, 0.8);
    EXPECT_FALSE(r.passed); // 20 permutations cannot reach p <= 0.001
    EXPECT_NE(r.failures.back().find("with 20 permutations the floor"), std::string::npos) << r.failures.back();
}

TEST(GeometryValidation, TooFewAnchorsIsAnError) {
    auto o = small(GeodesicMethod::isomap);
    o.min_anchor_cells = 1000;
    EXPECT_NE(test::error_of([&] { validate_geometry(curve_cells(false), chain_ruler(), o); }).find("anchors"), std::string::npos);
}

} // namespace
} // namespace scx
