#include "scextract/bench/linear_readout_set.hpp"

#include "scextract/extract/panel_features.hpp"

#include "../support/error_of.hpp"
#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace scx {
namespace {

TEST(LinearReadoutSet, MappedRowsKeepOrderAndDropUnmapped) {
    const auto tc = test::make_baseline_test_cells();
    const auto rows = mapped_rows(tc->cells, tc->train);
    EXPECT_LT(rows.size(), tc->train.size()); // the "doublet" cells
    EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
    for (const auto r : rows) EXPECT_GE(tc->cells.stage[static_cast<std::size_t>(r)], 0);
    const std::vector<std::int64_t> bad = {0, tc->cells.n_cells()};
    EXPECT_NE(test::error_of([&] { (void)mapped_rows(tc->cells, bad); }).find("outside"), std::string::npos);
}

// The set is the readouts of readouts.hpp on the standardised latent of the mapped rows.
TEST(LinearReadoutSet, EqualsTheReadoutsOnTheStandardisedLatent) {
    const auto tc = test::make_baseline_test_cells();
    const auto& cells = tc->cells;
    const RowMatrixF x = bench_panel_expression(cells, tc->train); // all training rows, unmapped included
    const auto set = fit_linear_readout_set(cells, tc->train, x);
    EXPECT_TRUE(set.skipped.empty());
    ASSERT_TRUE(set.depth && set.stage && set.branch);
    ASSERT_EQ(set.binary.size(), 2U);
    ASSERT_TRUE(set.binary[0] && set.binary[1]);

    const auto rows = mapped_rows(cells, tc->train);
    RowMatrixF z = bench_panel_expression(cells, rows);
    const auto s = Standardizer::fit(z);
    s.apply_in_place(z);
    EXPECT_TRUE(set.mean == s.mean);
    Eigen::VectorXd depth(static_cast<Eigen::Index>(rows.size()));
    std::vector<std::int64_t> stage, cd4_cd8;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        depth[static_cast<Eigen::Index>(i)] = cells.depth[static_cast<std::size_t>(rows[i])];
        stage.push_back(cells.stage[static_cast<std::size_t>(rows[i])]);
        cd4_cd8.push_back(cells.binary_tasks[0].label[static_cast<std::size_t>(rows[i])]);
    }
    const auto d = fit_depth_readout(z, depth).readout;
    EXPECT_TRUE(set.depth->w == d.w);
    EXPECT_EQ(set.depth->b, d.b);
    std::vector<std::string> names;
    for (const auto& st : cells.ruler->stages) names.push_back(st.name);
    const auto st = fit_softmax_readout(z, stage, names);
    EXPECT_TRUE(set.stage->readout.W == st.readout.W);
    EXPECT_EQ(set.stage->codes, st.class_codes);
    const auto b = fit_binary_readout(z, cd4_cd8, {"CD4 T", "CD8 T"}).readout;
    EXPECT_TRUE(set.binary[0]->w == b.w);

    // Parameters: depth k + 1, stage 7 (k + 1), branch 4 (k + 1), two binary k + 1.
    const std::int64_t k = x.cols();
    EXPECT_EQ(set.parameter_count(), (k + 1) * (1 + 7 + 4 + 2));

    const RowMatrixF xt = bench_panel_expression(cells, tc->test);
    const auto p = set.predict(xt);
    const auto n = static_cast<Eigen::Index>(tc->test.size());
    EXPECT_EQ(p.latent.size(), 0);
    EXPECT_EQ(p.pseudotime.size(), n);
    EXPECT_EQ(p.stage.size(), tc->test.size());
    EXPECT_EQ(p.branch.size(), tc->test.size());
    ASSERT_EQ(p.binary_scores.size(), 2U);
    EXPECT_EQ(p.binary_scores[0].size(), n);
    std::int64_t right = 0, mapped = 0;
    for (std::size_t i = 0; i < tc->test.size(); ++i) {
        const auto truth = cells.stage[static_cast<std::size_t>(tc->test[i])];
        if (truth < 0) continue;
        ++mapped;
        right += p.stage[i] == truth;
        EXPECT_EQ(cells.ruler->stages[static_cast<std::size_t>(p.stage[i])].branch.empty(), false);
    }
    EXPECT_GT(static_cast<double>(right), 0.9 * static_cast<double>(mapped));
    EXPECT_NE(test::error_of([&] { (void)set.predict(RowMatrixF::Zero(2, k + 1)); }).find("column"), std::string::npos);
}

TEST(LinearReadoutSet, SkipsWhatCannotBeTrained) {
    const auto tc = test::make_baseline_test_cells();
    const auto& cells = tc->cells;
    // Only HSC and classical monocytes: two stages and two branches, no CD4/CD8 cells.
    std::vector<std::int64_t> rows;
    for (const auto r : tc->train)
        if (cells.labels[static_cast<std::size_t>(r)] == "HSC" ||
            cells.labels[static_cast<std::size_t>(r)] == "classical_monocyte")
            rows.push_back(r);
    const RowMatrixF x = bench_panel_expression(cells, rows);
    LinearReadoutSetOptions o;
    o.standardize = false;
    const auto set = fit_linear_readout_set(cells, rows, x, o);
    EXPECT_EQ(set.mean.size(), 0);
    EXPECT_TRUE(set.depth && set.stage && set.branch);
    ASSERT_EQ(set.binary.size(), 2U);
    EXPECT_FALSE(set.binary[0]);
    EXPECT_FALSE(set.binary[1]); // macrophages absent
    EXPECT_EQ(set.skipped.size(), 2U);
    const auto p = set.predict(x);
    EXPECT_EQ(p.binary_scores[0].size(), 0);

    // Only HSC: no classifier at all.
    std::vector<std::int64_t> hsc;
    for (const auto r : rows)
        if (cells.labels[static_cast<std::size_t>(r)] == "HSC") hsc.push_back(r);
    const auto only = fit_linear_readout_set(cells, hsc, bench_panel_expression(cells, hsc));
    EXPECT_TRUE(only.depth);
    EXPECT_FALSE(only.stage);
    EXPECT_FALSE(only.branch);
    EXPECT_TRUE(only.predict(bench_panel_expression(cells, hsc)).stage.empty());
}

TEST(LinearReadoutSet, ThreadCountDoesNotChangeBits) {
    const auto tc = test::make_baseline_test_cells(1200, 9); // enough rows for several chunks
    const RowMatrixF x = bench_panel_expression(tc->cells, tc->train);
    LinearReadoutSetOptions o;
    o.threads = 1;
    const auto a = fit_linear_readout_set(tc->cells, tc->train, x, o);
    o.threads = 2;
    const auto b = fit_linear_readout_set(tc->cells, tc->train, x, o);
    EXPECT_TRUE(a.depth->w == b.depth->w);
    EXPECT_TRUE(a.stage->readout.W == b.stage->readout.W);
    EXPECT_TRUE(a.branch->readout.b == b.branch->readout.b);
    EXPECT_TRUE(a.binary[1]->w == b.binary[1]->w);
}

TEST(LinearReadoutSet, RejectsMismatchedSizes) {
    const auto tc = test::make_baseline_test_cells();
    const RowMatrixF x = bench_panel_expression(tc->cells, tc->train);
    const std::span<const std::int64_t> fewer(tc->train.data(), tc->train.size() - 1);
    EXPECT_NE(test::error_of([&] { (void)fit_linear_readout_set(tc->cells, fewer, x); }).find("latent rows"),
              std::string::npos);
}

} // namespace
} // namespace scx
