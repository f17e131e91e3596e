#include "scextract/preprocess/lr_ruler.hpp"

#include "scextract/core/error.hpp"

#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

namespace scx {
namespace {

using test::error_of;

const std::vector<std::string> kGenes = {"L1", "L2", "R1", "R2", "X"};

/// 10 cells per type; @p detected[t][g] = how many of type t's cells have gene g.
CellTypeDetection detection(const std::vector<std::string>& types, const std::vector<std::vector<int>>& detected) {
    std::vector<float> dense;
    std::vector<std::string> labels;
    for (std::size_t t = 0; t < types.size(); ++t)
        for (int c = 0; c < 10; ++c) {
            for (std::size_t g = 0; g < kGenes.size(); ++g) dense.push_back(c < detected[t][g] ? 3.0f : 0.0f);
            labels.push_back(types[t]);
        }
    labels.push_back(""); // an unlabelled cell is left out
    for (std::size_t g = 0; g < kGenes.size(); ++g) dense.push_back(1.0f);
    const auto counts = csr_from_dense(dense, static_cast<std::int64_t>(labels.size()), static_cast<std::int64_t>(kGenes.size()));
    return detection_by_cell_type(counts, kGenes, labels);
}

// L1 -> R1, L2 -> R1, L1 -> R2 and the complex X_L2 -> R2. A expresses L1, L2 (X in 1 of 10
// cells), B R1 and R2, C R2: n(A, B) = 3, n(A, C) = 1, n(B, C) = 0.
LrResource resource() { return parse_lr_resource("ligand\treceptor\nL1\tR1\nL2\tR1\nL1\tR2\nX_L2\tR2\nNOPE\tR1\n", "lr.tsv"); }

const std::vector<std::vector<int>> kABC = {{10, 10, 0, 0, 1}, {0, 0, 10, 10, 0}, {0, 0, 0, 10, 0}};

TEST(LrRuler, SquareRootWeightedPathDistances) {
    const auto d = detection({"A", "B", "C"}, kABC);
    EXPECT_DOUBLE_EQ(d.fraction(0, 4), 0.1);
    const auto res = build_lr_ruler(resource(), d, {.min_fraction = 0.2, .branches = 2});
    const auto& r = res.ruler;
    ASSERT_EQ(r.stages.size(), 3u);
    EXPECT_EQ(res.pairs_in_data, 4); // NOPE is not a column
    EXPECT_EQ(res.pairs_linking, 3); // X_L2 needs X, which A detects in 10% < 20%
    EXPECT_EQ(res.pair_counts(0, 1), 3);
    EXPECT_EQ(res.pair_counts(0, 2), 1);
    EXPECT_EQ(res.pair_counts(1, 2), 0);
    const auto dist = ruler_distances(r);
    EXPECT_NEAR(dist(0, 1), 1 / std::sqrt(3.0), 1e-12);
    EXPECT_NEAR(dist(0, 2), 1.0, 1e-12);
    EXPECT_NEAR(dist(1, 2), 1 + 1 / std::sqrt(3.0), 1e-12); // through A: no direct pair
    EXPECT_EQ(r.root, "A");
    EXPECT_EQ(r.stages[1].depth, 1);
    EXPECT_EQ(r.stages[2].depth, 1);
    // farthest-point branches: A's group takes B, C (1.0 from A) starts the second
    EXPECT_EQ(r.branches, (std::vector<std::string>{"lr_A", "lr_C"}));
    EXPECT_EQ(r.stages[1].branch, "lr_A");
    EXPECT_EQ(r.stages[2].branch, "lr_C");
    EXPECT_TRUE(check_ruler(r, {"A", "B", "C"}).ok);
}

TEST(LrRuler, ThresholdDecidesExpression) {
    // at 10% A expresses X, so the complex X_L2 -> R2 links A with B and C too
    const auto res = build_lr_ruler(resource(), detection({"A", "B", "C"}, kABC), {.min_fraction = 0.1});
    EXPECT_EQ(res.pair_counts(0, 1), 4);
    EXPECT_EQ(res.pair_counts(0, 2), 2);
    EXPECT_NEAR(ruler_distances(res.ruler)(0, 2), 1 / std::sqrt(2.0), 1e-12);
}

TEST(LrRuler, TypeWithoutInteractionsIsNamed) {
    const auto d = detection({"A", "B", "C", "D"}, {kABC[0], kABC[1], kABC[2], {0, 0, 0, 0, 10}});
    EXPECT_EQ(error_of([&] { build_lr_ruler(resource(), d, {.min_fraction = 0.2}); }),
              "ligand-receptor ruler: cell type(s) D share no ligand-receptor pair with any other type at detection >= 0.2; "
              "lower --min-fraction or leave them out");
}

TEST(LrRuler, DisconnectedGraphAndBadInputsAreRefused) {
    // A - B and C - D linked, nothing between the two halves
    const auto d = detection({"A", "B", "C", "D"}, {{10, 0, 0, 0, 0}, {0, 0, 10, 0, 0}, {0, 10, 0, 0, 0}, {0, 0, 10, 0, 0}});
    const auto halves = parse_lr_resource("ligand\treceptor\nL1\tR1\nL2\tR2\n", "lr.tsv");
    const auto b = detection({"A", "B", "C", "D"}, {{10, 0, 0, 0, 0}, {0, 0, 10, 0, 0}, {0, 10, 0, 0, 0}, {0, 0, 0, 10, 0}});
    EXPECT_NE(error_of([&] { build_lr_ruler(halves, b, {}); }).find("falls into 2 parts with no pair between them: {A, B} {C, D}"),
              std::string::npos);
    EXPECT_NE(error_of([&] { build_lr_ruler(resource(), d, {.min_fraction = 0}); }).find("not in (0, 1]"), std::string::npos);
    const auto foreign = parse_lr_resource("ligand\treceptor\nFOO\tBAR\n", "mouse.tsv");
    EXPECT_NE(error_of([&] { build_lr_ruler(foreign, d, {}); }).find("no pair of mouse.tsv has all its genes"), std::string::npos);
    EXPECT_NE(error_of([&] { build_lr_ruler(resource(), d, {.min_cells = 11}); }).find("0 cell type(s) have >= 11 cells"),
              std::string::npos);
}

} // namespace
} // namespace scx
