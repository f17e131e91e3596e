// The compression-chain table counted on a hand-made results object whose answer is known:
// a loss needs q < fdr (q at the threshold is not one) and the reference ahead; a gain is
// not a loss; an endpoint without a tested comparison leaves the denominator; depth is
// reported beside, never counted.

#include "scextract/report/bench_report.hpp"
#include "scextract/report/bench_report_chain.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace scx::report {
namespace {

/// A comparison of @p method with the reference "drift" (means: reference, method).
Comparison comparison(const std::string& method, const std::string& endpoint, ComparisonUnit unit, double ref, double m,
                      std::optional<double> q, const std::string& test = "exact") {
    Comparison c;
    c.reference = "drift";
    c.method = method;
    c.endpoint = endpoint;
    c.unit = unit;
    c.n = 6;
    c.mean_reference = ref;
    c.mean_method = m;
    c.median_difference = ref - m;
    c.test = test;
    if (test != "none") {
        c.statistic = 0;
        c.p = q;
        c.q = q;
    }
    c.significant = q && *q < 0.05;
    return c;
}

/// drift (reference) -> head -> rank8 over four classification endpoints and depth;
/// mono_macro_auroc has no comparison at all (its labels are absent in this run).
Results chain_results() {
    Results r;
    r.reference = "drift";
    r.compression_chain = true;
    r.splits.n = 2;
    const auto method = [](std::string name, std::string description, OperatorSize size) {
        Method m;
        m.name = std::move(name);
        m.description = std::move(description);
        m.pseudotime_class = PseudotimeClass::supervised;
        m.operator_size = size;
        return m;
    };
    r.methods = {method("drift", "pooled drift", {320000, 1.28}), method("head", "L2H5", {160000, 0.64}),
                 method("rank8", "L2H5 rank 8", {6400, 0.0256})};
    r.endpoints = {{"branch_balanced_accuracy", "branch bal. acc.", true},
                   {"stage_macro_f1", "stage macro-F1", true},
                   {"cd4_cd8_auroc", "CD4/CD8 AUROC", true},
                   {"mono_macro_auroc", "mono/macro AUROC", true},
                   {"depth_spearman", "depth |rho|", true}};
    const std::vector<std::pair<std::string, std::vector<double>>> depth = {
        {"drift", {0.60, 0.70}}, {"head", {0.50, 0.60}}, {"rank8", {0.30, std::nan("")}}};
    for (const auto& [m, values] : depth)
        for (std::size_t s = 0; s < values.size(); ++s)
            r.scores.push_back({m, "depth_spearman", static_cast<std::int64_t>(s),
                                std::isnan(values[s]) ? std::nullopt : std::optional<double>(values[s])});
    const auto S = ComparisonUnit::splits;
    const auto D = ComparisonUnit::donors;
    r.comparisons = {
        // head over splits: one loss; q exactly at 0.05 is not significant; a clear tie-free non-loss
        comparison("head", "branch_balanced_accuracy", S, 0.90, 0.80, 0.01),
        comparison("head", "stage_macro_f1", S, 0.70, 0.60, 0.05),
        comparison("head", "cd4_cd8_auroc", S, 0.85, 0.84, 0.40),
        // head over donors: significantly better (a gain), one untested, one loss
        comparison("head", "branch_balanced_accuracy", D, 0.80, 0.90, 0.001),
        comparison("head", "stage_macro_f1", D, 0.70, 0.60, std::nullopt, "none"),
        comparison("head", "cd4_cd8_auroc", D, 0.85, 0.70, 0.049),
        // rank8 loses everything tested, over both units
        comparison("rank8", "branch_balanced_accuracy", S, 0.90, 0.50, 0.001),
        comparison("rank8", "stage_macro_f1", S, 0.70, 0.30, 0.002),
        comparison("rank8", "cd4_cd8_auroc", S, 0.85, 0.55, 0.003),
        comparison("rank8", "branch_balanced_accuracy", D, 0.90, 0.50, 0.001),
        comparison("rank8", "stage_macro_f1", D, 0.70, 0.30, 0.002),
        comparison("rank8", "cd4_cd8_auroc", D, 0.85, 0.55, 0.003),
        // depth: head not significant, rank8 worse over splits
        comparison("head", "depth_spearman", S, 0.65, 0.55, 0.2),
        comparison("head", "depth_spearman", D, 0.65, 0.55, 0.3),
        comparison("rank8", "depth_spearman", S, 0.65, 0.30, 0.004),
        comparison("rank8", "depth_spearman", D, 0.65, 0.30, 0.06),
    };
    return r;
}

using Names = std::vector<std::string>;

TEST(CompressionChain, CountsLossesOverTheClassificationEndpointsTested) {
    const auto r = chain_results();
    const auto rows = compression_chain_rows(r);
    ASSERT_EQ(rows.size(), 3U);
    EXPECT_EQ(rows[0].method->name, "drift");
    EXPECT_TRUE(rows[0].is_reference);
    EXPECT_TRUE(rows[0].splits.tested.empty());

    // mono_macro_auroc (no comparison) and depth are not in the denominator
    const auto& head = rows[1];
    EXPECT_EQ(head.splits.tested, (Names{"branch_balanced_accuracy", "stage_macro_f1", "cd4_cd8_auroc"}));
    EXPECT_EQ(head.splits.lost, (Names{"branch_balanced_accuracy"})) << "q = fdr is not a loss";
    EXPECT_TRUE(head.splits.gained.empty());
    EXPECT_EQ(head.donors.tested, (Names{"branch_balanced_accuracy", "cd4_cd8_auroc"})) << "test 'none' is not tested";
    EXPECT_EQ(head.donors.lost, (Names{"cd4_cd8_auroc"}));
    EXPECT_EQ(head.donors.gained, (Names{"branch_balanced_accuracy"})) << "a significant gain is not a loss";

    const auto& rank8 = rows[2];
    EXPECT_EQ(rank8.splits.lost.size(), 3U);
    EXPECT_EQ(rank8.donors.lost.size(), 3U);
    ASSERT_TRUE(rank8.depth_mean);
    EXPECT_DOUBLE_EQ(*rank8.depth_mean, 0.30); // the split without a value is left out
    EXPECT_DOUBLE_EQ(*rows[0].depth_mean, 0.65);
    EXPECT_DOUBLE_EQ(rank8.depth_q_splits.value_or(-1), 0.004);
    EXPECT_FALSE(rows[0].depth_q_splits);

    // a looser threshold from the config makes the q = 0.05 endpoint a loss too
    auto loose = r;
    loose.fdr = 0.1;
    EXPECT_EQ(compression_chain_rows(loose)[1].splits.lost, (Names{"branch_balanced_accuracy", "stage_macro_f1"}));
}

TEST(CompressionChain, TsvHasOneRowPerMethodInOrder) {
    const auto tsv = compression_chain_tsv(chain_results());
    const std::string expected =
        "method\tis_reference\tstored_values\tsize_mb\tendpoints_splits\tlosses_splits\tlost_splits\tgains_splits\t"
        "endpoints_donors\tlosses_donors\tlost_donors\tgains_donors\tdepth_spearman_mean\tdepth_q_splits\tdepth_q_donors\n"
        "drift\tyes\t320000\t1.28\tNA\tNA\t\tNA\tNA\tNA\t\tNA\t0.64999999999999991\tNA\tNA\n"
        "head\tno\t160000\t0.64000000000000001\t3\t1\tbranch_balanced_accuracy\t0\t2\t1\tcd4_cd8_auroc\t1\t0.55000000000000004\t"
        "0.20000000000000001\t0.29999999999999999\n"
        "rank8\tno\t6400\t0.025600000000000001\t3\t3\tbranch_balanced_accuracy,stage_macro_f1,cd4_cd8_auroc\t0\t3\t3\t"
        "branch_balanced_accuracy,stage_macro_f1,cd4_cd8_auroc\t0\t0.29999999999999999\t0.0040000000000000001\t"
        "0.059999999999999998\n";
    EXPECT_EQ(tsv, expected);
}

/// The section of the page with id @p id, up to its end.
std::string section(const std::string& html, const std::string& id) {
    const auto start = html.find("<section id=\"" + id + "\"");
    if (start == std::string::npos) return {};
    return html.substr(start, html.find("</section>", start) - start);
}

TEST(CompressionChain, ReportShowsTheTableOnlyWhenAskedFor) {
    auto r = chain_results();
    const auto html = render_bench_report_html(r);
    const auto table = section(html, "compression-chain");
    ASSERT_FALSE(table.empty());
    EXPECT_EQ(html, render_bench_report_html(r)) << "same results, same bytes";
    // rows in order, sizes, k/n per unit, the gain noted, the lost endpoints in the title
    EXPECT_LT(table.find(">drift "), table.find(">head<"));
    EXPECT_LT(table.find(">head<"), table.find(">rank8<"));
    EXPECT_NE(table.find("<td>1.280</td><td>320,000</td>"), std::string::npos) << table;
    EXPECT_NE(table.find("<td title=\"lost: branch bal. acc.\">1/3</td>"), std::string::npos) << table;
    EXPECT_NE(table.find("1/2 <span class=\"better\">(+1 better)</span>"), std::string::npos) << table;
    EXPECT_NE(table.find(">3/3</td>"), std::string::npos);
    // depth: rank8's significant drop over splits is marked worse, head's is not marked
    EXPECT_NE(table.find("0.300 <span class=\"worse\">&#9660;**</span>"), std::string::npos) << table;
    EXPECT_NE(table.find("<td>0.550</td>"), std::string::npos) << table;
    // the four figures keep their ids
    for (const char* id : {"fig-pseudotime", "fig-roc", "fig-splits", "fig-manifold"})
        EXPECT_NE(html.find(std::string("<figure id=\"") + id + "\""), std::string::npos) << id;

    r.compression_chain = false;
    EXPECT_EQ(section(render_bench_report_html(r), "compression-chain"), "");
}

} // namespace
} // namespace scx::report
