#include "scextract/validate/null_ruler.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/ruler_json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace scx {
namespace {

TEST(NullRuler, ShufflesStagesWithinBranchesAndKeepsTheGraph) {
    const auto& ruler = default_hematopoiesis_ruler();
    const auto r = null_ruler(ruler, {.seed = 7});
    const auto& nr = r.ruler;
    const auto n = static_cast<std::int64_t>(ruler.stages.size());
    ASSERT_EQ(static_cast<std::int64_t>(nr.stages.size()), n);
    ASSERT_EQ(static_cast<std::int64_t>(r.node.size()), n);
    const auto check = check_ruler(nr);
    EXPECT_TRUE(check.ok) << (check.errors.empty() ? "" : check.errors[0]);
    EXPECT_EQ(check.branch_counts.size(), check_ruler(ruler).branch_counts.size());
    for (std::size_t b = 0; b < check.branch_counts.size(); ++b)
        EXPECT_EQ(check.branch_counts[b].n_stages, check_ruler(ruler).branch_counts[b].n_stages);
    // identities stay with their stage, so labels map to the same indices through both rulers
    std::vector<std::string> names;
    for (std::int64_t i = 0; i < n; ++i) {
        EXPECT_EQ(nr.stages[i].name, ruler.stages[i].name);
        EXPECT_EQ(nr.stages[i].branch, ruler.stages[i].branch);
        EXPECT_EQ(ruler.stages[r.node[i]].branch, ruler.stages[i].branch); // a node of its own branch
        EXPECT_EQ(nr.stages[i].depth, ruler.stages[r.node[i]].depth);
        names.push_back(ruler.stages[i].name);
    }
    EXPECT_EQ(nr.labels, ruler.labels);
    const std::vector<std::string> labels = {"CD14+ Monocytes", "NK cells", "HSC", "naive B"};
    EXPECT_EQ(stages_of_labels(nr, labels), stages_of_labels(ruler, labels));
    // the node map is a permutation, and the distances follow it
    auto sorted = r.node;
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(sorted[i], i);
    const Eigen::MatrixXd d = ruler_distances(ruler), dn = ruler_distances(nr);
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j) ASSERT_EQ(dn(i, j), d(r.node[i], r.node[j])) << i << "," << j;
    EXPECT_GT(r.moved, n / 2);
    EXPECT_GT((dn - d).cwiseAbs().sum(), 0.0);
    EXPECT_LT(r.distance_spearman, 0.9);
    EXPECT_EQ(nr.stages[nr.stage_index(nr.root)].depth, 0);
    // nk has one stage: it cannot move
    EXPECT_EQ(r.fixed_branches, std::vector<std::string>{"nk"});
    const auto nk = ruler.stage_index("NK");
    EXPECT_EQ(r.node[nk], nk);
}

TEST(NullRuler, SeededAndDeterministic) {
    const auto& ruler = default_hematopoiesis_ruler();
    const auto a = null_ruler(ruler, {.seed = 3});
    const auto b = null_ruler(ruler, {.seed = 3});
    const auto c = null_ruler(ruler, {.seed = 4});
    EXPECT_EQ(a.node, b.node);
    EXPECT_EQ(a.ruler.edges, b.ruler.edges);
    EXPECT_EQ(a.distance_spearman, b.distance_spearman);
    EXPECT_NE(a.node, c.node);
}

TEST(NullRuler, MovesExplicitDistancesWithTheNodes) {
    Ruler r;
    r.name = "line";
    r.branches = {"a", "b"};
    for (std::int64_t i = 0; i < 5; ++i) r.stages.push_back({fmt::format("s{}", i), i, i < 1 ? "a" : "b", ""});
    r.root = "s0";
    Eigen::MatrixXd d(5, 5);
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) d(i, j) = std::abs(i - j) * (1.0 + 0.1 * std::min(i, j));
    r.explicit_distances = d;
    const auto nr = null_ruler(r, {.seed = 1});
    ASSERT_TRUE(nr.ruler.explicit_distances.has_value());
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) EXPECT_EQ((*nr.ruler.explicit_distances)(i, j), d(nr.node[i], nr.node[j]));
    EXPECT_EQ(nr.node[0], 0); // branch a holds one stage
    EXPECT_EQ(nr.fixed_branches, std::vector<std::string>{"a"});
    EXPECT_TRUE(check_ruler(nr.ruler).ok);
}

TEST(NullRuler, RefusesBadRulers) {
    EXPECT_THROW(null_ruler(Ruler{}), Error);
    auto r = default_hematopoiesis_ruler();
    r.root = "nope";
    EXPECT_THROW(null_ruler(r), Error);
    r = default_hematopoiesis_ruler();
    r.edges.push_back({0, 999});
    EXPECT_THROW(null_ruler(r), Error);
}

} // namespace
} // namespace scx
