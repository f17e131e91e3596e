// The ruler type: hop distances on small graphs, every rule of check_ruler(), and label
// normalisation. The default hematopoiesis ruler is tested in tests/io/ruler_json_test.cpp.

#include "scextract/core/ruler.hpp"

#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

using scx::test::error_of;

/// root(0) - a(1) - b(2), root - c(1); branches "stem" and "x".
scx::Ruler small_tree() {
    scx::Ruler r;
    r.name = "small";
    r.branches = {"stem", "x"};
    r.stages = {{"root", 0, "stem", ""}, {"a", 1, "x", ""}, {"b", 2, "x", ""}, {"c", 1, "x", ""}};
    r.edges = {{0, 1}, {1, 2}, {0, 3}};
    r.labels = {{"Alpha cells", 1}, {"B+", 2}};
    r.root = "root";
    return r;
}

bool has_message(const std::vector<std::string>& messages, const std::string& part) {
    return std::any_of(messages.begin(), messages.end(), [&](const std::string& m) { return m.find(part) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}

/// check_ruler(r) fails with exactly one error containing @p part.
void expect_single_error(const scx::Ruler& r, const std::string& part) {
    const auto res = scx::check_ruler(r);
    EXPECT_FALSE(res.ok);
    ASSERT_EQ(res.errors.size(), 1U) << joined(res.errors);
    EXPECT_NE(res.errors[0].find(part), std::string::npos) << res.errors[0];
}

TEST(RulerDistances, PathTreeAndCycle) {
    const auto d = scx::ruler_distances(small_tree());
    Eigen::MatrixXd expected(4, 4);
    expected << 0, 1, 2, 1, //
        1, 0, 1, 2,         //
        2, 1, 0, 3,         //
        1, 2, 3, 0;
    EXPECT_EQ(d, expected);

    // A 5-cycle: the shortest way round is taken in either direction.
    scx::Ruler ring;
    ring.branches = {"x"};
    for (int i = 0; i < 5; ++i) ring.stages.push_back({"s" + std::to_string(i), 0, "x", ""});
    for (int i = 0; i < 5; ++i) ring.edges.emplace_back(i, (i + 1) % 5);
    const auto c = scx::ruler_distances(ring);
    EXPECT_EQ(c(0, 2), 2.0);
    EXPECT_EQ(c(0, 3), 2.0);
    EXPECT_EQ(c(1, 4), 2.0);
    EXPECT_EQ(c(0, 4), 1.0);
    EXPECT_TRUE(c.isApprox(c.transpose()));

    scx::Ruler single;
    single.stages = {{"only", 0, "x", ""}};
    EXPECT_EQ(scx::ruler_distances(single), Eigen::MatrixXd::Zero(1, 1));
}

TEST(RulerDistances, DisconnectedAndBadEdgesThrow) {
    auto r = small_tree();
    r.edges.pop_back(); // c is cut off
    const auto msg = error_of([&] { scx::ruler_distances(r); });
    EXPECT_NE(msg.find("not connected"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'c'"), std::string::npos) << msg;

    r = small_tree();
    r.edges.emplace_back(0, 9);
    EXPECT_NE(error_of([&] { scx::ruler_distances(r); }).find("does not exist"), std::string::npos);
}

TEST(RulerDistances, ExplicitMatrixIsUsedAsIs) {
    auto r = small_tree();
    Eigen::MatrixXd m(4, 4);
    m << 0, 0.5, 2, 1, //
        0.5, 0, 1.5, 1, //
        2, 1.5, 0, 3,   //
        1, 1, 3, 0;
    r.explicit_distances = m;
    r.edges.clear(); // a non-graph ruler needs no edges
    EXPECT_EQ(scx::ruler_distances(r), m);
    const auto res = scx::check_ruler(r);
    EXPECT_TRUE(res.ok) << joined(res.errors);

    r.explicit_distances = Eigen::MatrixXd::Zero(3, 3);
    EXPECT_NE(error_of([&] { scx::ruler_distances(r); }).find("3 x 3"), std::string::npos);
}

TEST(RulerCheck, ValidRulerPasses) {
    const auto res = scx::check_ruler(small_tree(), {"alpha", "B", "nothing", "alpha", "c"});
    EXPECT_TRUE(res.ok) << joined(res.errors);
    EXPECT_TRUE(res.warnings.empty()) << joined(res.warnings);
    EXPECT_EQ(res.max_depth, 2);
    ASSERT_EQ(res.branch_counts.size(), 2U);
    EXPECT_EQ(res.branch_counts[0].branch, "stem");
    EXPECT_EQ(res.branch_counts[0].n_stages, 1);
    EXPECT_EQ(res.branch_counts[1].n_stages, 3);
    // Distinct labels in first-seen order.
    EXPECT_EQ(res.unknown_labels, (std::vector<std::string>{"nothing"}));
    ASSERT_EQ(res.mapped_labels.size(), 3U);
    EXPECT_EQ(res.mapped_labels[0], (std::pair<std::string, std::int64_t>{"alpha", 1}));
    EXPECT_EQ(res.mapped_labels[1], (std::pair<std::string, std::int64_t>{"B", 2}));
    EXPECT_EQ(res.mapped_labels[2], (std::pair<std::string, std::int64_t>{"c", 3}));
}

TEST(RulerCheck, StagesAndBranches) {
    expect_single_error(scx::Ruler{}, "no stages");

    auto r = small_tree();
    r.stages[2].name = "a";
    expect_single_error(r, "stage name 'a' is used twice");

    r = small_tree();
    r.stages[3].name = "";
    expect_single_error(r, "empty name");

    r = small_tree();
    r.stages[2].branch = "y";
    expect_single_error(r, "branch 'y', which is not declared");
    EXPECT_EQ(scx::check_ruler(r).branch_counts.back().branch, "y");

    r = small_tree();
    r.stages[2].branch = "";
    expect_single_error(r, "stage 'b' has no branch");

    r = small_tree();
    r.branches.push_back("x");
    expect_single_error(r, "branch 'x' is declared twice");

    r = small_tree();
    r.branches.push_back("");
    expect_single_error(r, "declared branch name is empty");

    r = small_tree();
    r.branches.push_back("unused");
    const auto res = scx::check_ruler(r);
    EXPECT_TRUE(res.ok);
    EXPECT_TRUE(has_message(res.warnings, "branch 'unused' has no stages")) << joined(res.warnings);
}

TEST(RulerCheck, RootAndDepths) {
    auto r = small_tree();
    r.root = "";
    expect_single_error(r, "no root");

    r = small_tree();
    r.root = "nowhere";
    expect_single_error(r, "root 'nowhere' is not a stage");

    r = small_tree();
    r.root = "a"; // a has depth 1; root has depth 0 but is not the root now
    auto res = scx::check_ruler(r);
    EXPECT_FALSE(res.ok);
    EXPECT_TRUE(has_message(res.errors, "root 'a' has depth 1, not 0")) << joined(res.errors);
    EXPECT_TRUE(has_message(res.errors, "stage 'root' has depth 0 but is not the root")) << joined(res.errors);

    r = small_tree();
    r.stages[2].depth = 3; // b is 2 hops away
    expect_single_error(r, "stage 'b' has depth 3 but is 2 hop(s) from the root 'root'");

    r = small_tree();
    r.stages[2].depth = -1;
    res = scx::check_ruler(r);
    EXPECT_TRUE(has_message(res.errors, "negative depth")) << joined(res.errors);

    // Two routes to one stage are fine as long as depth = shortest hop count.
    r = small_tree();
    r.edges.emplace_back(3, 2); // c - b: b is still 2 hops from the root
    res = scx::check_ruler(r);
    EXPECT_TRUE(res.ok) << joined(res.errors);
    // ... but an edge that shortens the route makes b's depth wrong.
    r.edges.emplace_back(0, 2);
    expect_single_error(r, "stage 'b' has depth 2 but is 1 hop(s) from the root");
}

TEST(RulerCheck, Edges) {
    auto r = small_tree();
    r.edges.emplace_back(1, 7);
    expect_single_error(r, "edge #3 (1, 7) refers to a stage that does not exist");

    r = small_tree();
    r.edges.emplace_back(2, 2);
    expect_single_error(r, "joins stage 'b' to itself");

    r = small_tree();
    r.edges.emplace_back(2, 1); // a - b again, reversed
    expect_single_error(r, "edge #3 'b' - 'a' is listed twice");

    r = small_tree();
    r.edges.pop_back(); // c unreachable: its depth cannot be checked either
    expect_single_error(r, "not connected: 1 stage(s) cannot be reached from 'root': c");
}

TEST(RulerCheck, ExplicitMatrix) {
    auto base = small_tree();
    base.explicit_distances = scx::ruler_distances(base);
    EXPECT_TRUE(scx::check_ruler(base).ok);

    auto r = base;
    r.explicit_distances = Eigen::MatrixXd::Zero(2, 2);
    expect_single_error(r, "explicit distance matrix is 2 x 2 but the ruler has 4 stages");

    r = base;
    (*r.explicit_distances)(0, 0) = 1.0;
    expect_single_error(r, "distance of 'root' to itself is 1, not 0");

    r = base;
    (*r.explicit_distances)(0, 1) = 5.0;
    expect_single_error(r, "not symmetric: 'root' - 'a' is 5 but 'a' - 'root' is 1");

    r = base;
    (*r.explicit_distances)(0, 1) = (*r.explicit_distances)(1, 0) = -1.0;
    auto res = scx::check_ruler(r);
    EXPECT_EQ(res.errors.size(), 2U) << joined(res.errors); // both triangles of the matrix
    EXPECT_TRUE(has_message(res.errors, "distance 'root' - 'a' is negative (-1)"));

    r = base;
    (*r.explicit_distances)(2, 3) = std::numeric_limits<double>::infinity();
    res = scx::check_ruler(r);
    EXPECT_TRUE(has_message(res.errors, "distance 'b' - 'c' is not finite")) << joined(res.errors);

    // Allowed but suspicious: two stages at distance 0, a non-metric matrix.
    r = base;
    (*r.explicit_distances)(1, 3) = (*r.explicit_distances)(3, 1) = 0.0;
    (*r.explicit_distances)(2, 3) = (*r.explicit_distances)(3, 2) = 10.0;
    res = scx::check_ruler(r);
    EXPECT_TRUE(res.ok) << joined(res.errors);
    EXPECT_TRUE(has_message(res.warnings, "1 pair(s) of different stages are at distance 0")) << joined(res.warnings);
    EXPECT_TRUE(has_message(res.warnings, "not a metric")) << joined(res.warnings);

    // With a matrix, graph problems of the (optional) edges are only warnings.
    r = base;
    r.edges.pop_back();
    res = scx::check_ruler(r);
    EXPECT_TRUE(res.ok) << joined(res.errors);
    EXPECT_TRUE(has_message(res.warnings, "not connected")) << joined(res.warnings);
}

TEST(RulerCheck, Labels) {
    auto r = small_tree();
    r.labels.emplace_back("", 1);
    expect_single_error(r, "a label is empty");

    r = small_tree();
    r.labels.emplace_back("ghost", 12);
    expect_single_error(r, "label 'ghost' maps to stage #12, which does not exist");

    r = small_tree();
    r.labels.emplace_back("Alpha cells", 3);
    auto res = scx::check_ruler(r);
    EXPECT_TRUE(has_message(res.errors, "label 'Alpha cells' is mapped to two stages: 'a' and 'c'")) << joined(res.errors);

    r = small_tree();
    r.labels.emplace_back("b", 3);
    expect_single_error(r, "label 'b' is the name of stage 'b' but is mapped to 'c'");

    r = small_tree();
    r.labels.emplace_back("ALPHA_CELL", 3); // normalises like "Alpha cells"
    expect_single_error(r, "'Alpha cells' ('a') and 'ALPHA_CELL' ('c') are the same label after normalisation ('alpha')");

    r = small_tree();
    r.labels.emplace_back("A", 3); // normalises like the stage name "a"
    expect_single_error(r, "'a' ('a') and 'A' ('c') are the same label after normalisation");

    // Redundant synonyms of the same stage are fine.
    r = small_tree();
    r.labels.emplace_back("alpha", 1);
    EXPECT_TRUE(scx::check_ruler(r).ok);

    r = small_tree();
    r.labels.clear();
    res = scx::check_ruler(r);
    EXPECT_TRUE(res.ok);
    EXPECT_TRUE(has_message(res.warnings, "maps no labels"));

    r = small_tree();
    r.labels.emplace_back("?", 1);
    res = scx::check_ruler(r);
    EXPECT_TRUE(res.ok);
    EXPECT_TRUE(has_message(res.warnings, "label '?' has no letters or digits")) << joined(res.warnings);
}

TEST(RulerLabels, Normalisation) {
    using scx::normalize_label;
    EXPECT_EQ(normalize_label("CD14+ Monocyte"), "cd14monocyte");
    EXPECT_EQ(normalize_label("cd14 monocyte"), "cd14monocyte");
    EXPECT_EQ(normalize_label("CD14+ Monocytes"), "cd14monocyte");
    EXPECT_EQ(normalize_label("CD14_Monocyte"), "cd14monocyte");
    EXPECT_EQ(normalize_label("B cells"), "b");
    EXPECT_EQ(normalize_label("B Cells"), "b");
    EXPECT_EQ(normalize_label("B"), "b");
    EXPECT_EQ(normalize_label("T_CD4"), "tcd4");
    EXPECT_EQ(normalize_label("CD4 T"), "cd4t");
    EXPECT_EQ(normalize_label("CD4+ T Cells"), "cd4t");
    // A trailing '-' after a marker is a negative sign and is kept; a joining '-' separates.
    EXPECT_EQ(normalize_label("CD14+ CD16- Monocytes"), "cd14cd16-monocyte");
    EXPECT_EQ(normalize_label("CD14- CD16+ Monocytes"), "cd14-cd16monocyte");
    EXPECT_EQ(normalize_label("CD4+/CD45RA+/CD25- Naive T"), "cd4cd45racd25-naivet");
    EXPECT_EQ(normalize_label("Eosinophil-basophil-mast cell progenitors"), "eosinophilbasophilmastprogenitor");
    EXPECT_EQ(normalize_label("Non-classical monocytes"), "nonclassicalmonocyte");
    EXPECT_EQ(normalize_label("8.3a-Trm"), "83atrm");
    // Plural: 3+ letters, not "ss".
    EXPECT_EQ(normalize_label("Class switched memory B cells"), "classswitchedmemoryb");
    EXPECT_EQ(normalize_label("HSCs & MPPs"), "hscmpp");
    EXPECT_EQ(normalize_label("DCs"), "dc");
    EXPECT_EQ(normalize_label("Ms"), "ms");
    // Only separators: nothing left.
    EXPECT_EQ(normalize_label("?"), "");
    EXPECT_EQ(normalize_label(" cells "), "");
    // Non-ASCII bytes are kept as they are.
    EXPECT_EQ(normalize_label("γδ T"), "γδt");
}

TEST(RulerLabels, LookupOrderAndBatch) {
    auto r = small_tree();
    EXPECT_EQ(r.stage_index("b"), 2);
    EXPECT_EQ(r.stage_index("B"), -1); // stage names are exact
    EXPECT_EQ(r.stage_of_label("b"), 2);
    EXPECT_EQ(r.stage_of_label("B"), 2);       // label "B+" normalises to "b"
    EXPECT_EQ(r.stage_of_label("alpha-cell"), 1);
    EXPECT_EQ(r.stage_of_label("C"), 3);       // stage names are labels too, after normalisation
    EXPECT_EQ(r.stage_of_label("?"), -1);
    EXPECT_EQ(r.stage_of_label("zeta"), -1);

    // An exact label wins over a normalised match.
    r.labels.emplace_back("C ", 1);
    EXPECT_EQ(r.stage_of_label("C "), 1);
    EXPECT_EQ(r.stage_of_label("c"), 3);

    const std::vector<std::string> queries{"b", "B", "alpha-cell", "C", "C ", "?", "zeta", "root", "ROOT cells"};
    const auto batch = scx::stages_of_labels(r, queries);
    ASSERT_EQ(batch.size(), queries.size());
    for (std::size_t k = 0; k < queries.size(); ++k) EXPECT_EQ(batch[k], r.stage_of_label(queries[k])) << queries[k];
}

} // namespace
