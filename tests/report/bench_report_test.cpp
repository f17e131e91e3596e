// The benchmark report rendered from the committed example results
// (tests/fixtures/eval/bench_results_example.json, made by make_bench_results_example.py).

#include "scextract/core/error.hpp"
#include "scextract/report/bench_report.hpp"
#include "scextract/report/bench_report_figures.hpp"
#include "scextract/report/bench_results_reader.hpp"
#include "scextract/io/svg_plot.hpp"

#include <fstream>

#include "report_test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace scx {
namespace {

using nlohmann::json;
using scx::test::count;
using scx::test::element;
using scx::test::example_results;

/// The endpoint table's row of a method.
std::string endpoint_row(const std::string& html, const std::string& method) {
    const auto table = element(html, "section", "endpoints");
    const auto start = table.find("<tr><th scope=\"row\" title=");
    for (auto pos = start; pos != std::string::npos; pos = table.find("<tr><th scope=\"row\"", pos + 1)) {
        const auto end = table.find("</tr>", pos);
        const auto row = table.substr(pos, end - pos);
        if (row.find(">" + method + "<") != std::string::npos || row.find(">" + method + " <") != std::string::npos)
            return row;
    }
    return {};
}

TEST(BenchReport, RendersTheFourFiguresWithTheirShapes) {
    const auto html = render_bench_report_html(example_results());
    ASSERT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("</html>"), std::string::npos);
    const std::pair<const char*, const char*> figures[] = {
        {"fig-pseudotime", "<circle"}, {"fig-roc", "<polyline"}, {"fig-splits", "<circle"}, {"fig-manifold", "<circle"}};
    for (const auto& [id, shape] : figures) {
        const auto fig = element(html, "figure", id);
        ASSERT_FALSE(fig.empty()) << id;
        EXPECT_EQ(count(fig, "<svg "), 1u) << id;
        EXPECT_NE(fig.find("<title>"), std::string::npos) << id;
        EXPECT_GT(count(fig, shape), 5u) << id;
    }
    // One ROC line per method and task (4 methods x 2 tasks), one pseudotime panel per method with pseudotime.
    EXPECT_EQ(count(element(html, "figure", "fig-roc"), "class=\"roc-curve\""), 8u);
    EXPECT_EQ(count(element(html, "figure", "fig-pseudotime"), "class=\"cells\""), 3u);
    // Self-contained: no script, no external resources.
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(BenchReport, NotApplicableIsNeverZero) {
    const auto html = render_bench_report_html(example_results());
    // mono_macro_auroc has no labels: n/a for every method, named in the note, "not applicable" in the figure.
    for (const char* m : {"scextract", "scgpt_probe", "pca_dpt", "logreg_hvg"}) {
        const auto row = endpoint_row(html, m);
        ASSERT_FALSE(row.empty()) << m;
        EXPECT_GE(count(row, ">n/a<"), 1u) << m;
    }
    EXPECT_NE(html.find("Not applicable in this run"), std::string::npos);
    EXPECT_NE(html.find("monocyte subtypes macro AUROC"), std::string::npos);
    EXPECT_NE(element(html, "figure", "fig-splits").find("not applicable (labels absent)"), std::string::npos);
    // The method without pseudotime is n/a for depth_spearman in both class columns' place.
    EXPECT_NE(endpoint_row(html, "logreg_hvg").find("title=\"the method has no pseudotime\">n/a<"),
              std::string::npos);
    // No endpoint cell of a not-applicable value shows a number: mono_macro_auroc never prints 0.000.
    EXPECT_EQ(html.find(">0.000 "), std::string::npos);
}

TEST(BenchReport, PseudotimeClassesAreSeparate) {
    const auto html = render_bench_report_html(example_results());
    const auto table = element(html, "section", "endpoints");
    EXPECT_NE(table.find("cls-supervised\">supervised pseudotime"), std::string::npos);
    EXPECT_NE(table.find("cls-unsupervised\">unsupervised pseudotime"), std::string::npos);
    // Two depth columns: the unsupervised method's value sits in the second, so it is the best there.
    const auto pca = endpoint_row(html, "pca_dpt");
    EXPECT_NE(pca.find("<td class=\"other\""), std::string::npos);
    EXPECT_EQ(count(pca, "class=\"best\""), 1u) << "best only within its class column";
    // The cross-class depth comparison is labelled and not a headline.
    EXPECT_NE(html.find("cross-class: not a headline"), std::string::npos);
    // Every table labels the classes.
    for (const char* section : {"endpoints", "comparisons", "runtime"})
        EXPECT_NE(element(html, "section", section).find("cls-unsupervised"), std::string::npos) << section;
}

TEST(BenchReport, ComparisonsShowBothUnitsAndTheTestUsed) {
    const auto html = render_bench_report_html(example_results());
    const auto table = element(html, "section", "comparisons");
    EXPECT_NE(table.find(">splits<"), std::string::npos);
    EXPECT_NE(table.find(">donors<"), std::string::npos);
    EXPECT_NE(table.find(">exact<"), std::string::npos);
    EXPECT_NE(table.find(">normal<"), std::string::npos);
    EXPECT_NE(table.find("not tested"), std::string::npos);
    // Donor-level significance shows as a dagger in the splits figure.
    EXPECT_NE(element(html, "figure", "fig-splits").find("\u2020"), std::string::npos);
}

// Ladder and control comparisons get their own sections and stay out of the reference table.
TEST(BenchReport, LadderAndControlSections) {
    auto j = example_results();
    EXPECT_EQ(element(render_bench_report_html(j), "section", "ladder"), ""); // no pairs, no sections
    EXPECT_EQ(element(render_bench_report_html(j), "section", "controls"), "");
    const auto reference_rows = count(element(render_bench_report_html(j), "section", "comparisons"), "<tr");
    auto pair = [](const std::string& kind, const std::string& against, const std::string& method, const std::string& unit,
                   double ref, double m, double q) {
        return json{{"reference", against}, {"method", method}, {"endpoint", "branch_balanced_accuracy"}, {"unit", unit},
                    {"n", 4},          {"mean_reference", ref}, {"mean_method", m}, {"median_difference", ref - m},
                    {"statistic", 0.0}, {"p", q},               {"q", q},          {"test", "exact"},
                    {"significant", q < 0.05}, {"kind", kind}};
    };
    j["comparisons"].push_back(pair("ladder", "scextract", "scgpt_probe", "splits", 0.87, 0.80, 0.01));
    j["comparisons"].push_back(pair("ladder", "scextract", "scgpt_probe", "donors", 0.87, 0.80, 0.02));
    j["comparisons"].push_back(pair("ladder", "scgpt_probe", "logreg_hvg", "splits", 0.80, 0.81, 0.5));
    j["comparisons"].push_back(pair("control", "logreg_hvg", "scextract", "donors", 0.70, 0.87, 0.001));
    const auto html = render_bench_report_html(j);
    const auto ladder = element(html, "section", "ladder");
    ASSERT_NE(ladder, "");
    // rows in the file's method order; scgpt_probe fell against scextract on both units
    EXPECT_LT(ladder.find(">scextract<"), ladder.find(">scgpt_probe<"));
    EXPECT_NE(ladder.find("class=\"worse\">&#9660;*\u2020"), std::string::npos) << ladder;
    EXPECT_EQ(ladder.find("class=\"better\""), std::string::npos); // logreg_hvg's rise is not significant
    const auto controls = element(html, "section", "controls");
    EXPECT_NE(controls.find("matters: the real genes do better"), std::string::npos) << controls;
    EXPECT_EQ(count(element(html, "section", "comparisons"), "<tr"), reference_rows);
    // an unknown kind is refused, naming the key
    j["comparisons"].back()["kind"] = "sideways";
    try {
        (void)render_bench_report_html(j, "results.json");
        FAIL() << "an unknown comparison kind was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(".kind"), std::string::npos) << e.what();
    }
}

TEST(BenchReport, EscapesText) {
    auto j = example_results();
    const std::string evil = "<script>alert('x')</script> & \"q\"";
    j["methods"][1]["description"] = evil;
    j["command"] = evil;
    j["dataset"]["path"] = evil;
    j["endpoints"][0]["label"] = evil;
    j["figures"]["manifold"]["stages"][0] = evil;
    const auto html = render_bench_report_html(j);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find(evil), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"), std::string::npos);
    EXPECT_EQ(svg::escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST(BenchReport, MissingKeysAreNamed) {
    const auto expect_error = [](const json& j, const std::string& needle) {
        try {
            (void)render_bench_report_html(j, "results.json");
            ADD_FAILURE() << "no error for " << needle;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).rfind("results.json: ", 0), 0u) << e.what();
        }
    };
    auto j = example_results();
    j["dataset"].erase("n_cells");
    expect_error(j, "missing key 'dataset.n_cells'");
    j = example_results();
    j.erase("comparisons");
    expect_error(j, "missing key 'comparisons'");
    j = example_results();
    j["methods"][2].erase("pseudotime_class");
    expect_error(j, "missing key 'methods[2].pseudotime_class'");
    j = example_results();
    j["figures"]["roc"][0]["tpr"].erase(0);
    expect_error(j, "figures.roc[0]");
    j = example_results();
    j["scores"][0]["method"] = "nobody";
    expect_error(j, "'nobody'");
    j = example_results();
    j["scores"][0]["value"] = "0.5";
    expect_error(j, "'scores[0].value' must be a number");
    j = example_results();
    j["format"] = "something-else";
    expect_error(j, "format is 'something-else'");
    j = example_results();
    j["version"] = 2;
    expect_error(j, "version 2 is not supported");
}

TEST(BenchReport, SameJsonGivesTheSameBytes) {
    const auto j = example_results();
    const auto a = render_bench_report_html(j);
    const auto b = render_bench_report_html(json::parse(j.dump()));
    EXPECT_EQ(a, b);
    EXPECT_GT(a.size(), 20000u);
}

TEST(BenchReport, ManifoldMayBeAbsent) {
    auto j = example_results();
    j["figures"]["manifold"] = nullptr;
    j["figures"]["pseudotime"] = json::array();
    const auto html = render_bench_report_html(j);
    EXPECT_NE(element(html, "figure", "fig-manifold").find("no data for this figure"), std::string::npos);
    EXPECT_NE(element(html, "figure", "fig-pseudotime").find("no data for this figure"), std::string::npos);
}

TEST(BenchReport, NullFigureValuesAreNotDrawn) {
    // JSON has no NaN, so a writer stores non-finite figure values as null.
    auto j = example_results();
    j["figures"]["pseudotime"][0]["pseudotime"][0] = nullptr;
    j["figures"]["pseudotime"][0]["spearman"] = nullptr;
    j["figures"]["roc"][0]["auc"] = nullptr;
    j["figures"]["manifold"]["x"][0] = nullptr;
    const auto html = render_bench_report_html(j);
    EXPECT_NE(element(html, "figure", "fig-pseudotime").find("| = n/a"), std::string::npos);
    EXPECT_NE(element(html, "figure", "fig-roc").find("AUC n/a"), std::string::npos);
    EXPECT_EQ(html.find("nan"), std::string::npos);
}

TEST(SvgPlot, NiceTicksAndScales) {
    EXPECT_EQ(svg::nice_ticks({0, 1}), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
    const auto r = svg::nice_range({0.613, 0.947});
    EXPECT_DOUBLE_EQ(r.lo, 0.6);
    EXPECT_DOUBLE_EQ(r.hi, 0.95);
    const svg::LinearScale y({0, 10}, 100, 0);
    EXPECT_DOUBLE_EQ(y(0), 100);
    EXPECT_DOUBLE_EQ(y(2.5), 75);
    EXPECT_EQ(svg::fixed(-0.0001, 2), "0.00");
    EXPECT_EQ(report::significance_mark(0.004, report::ComparisonUnit::splits), "**");
    EXPECT_EQ(report::significance_mark(0.03, report::ComparisonUnit::donors), "\u2020");
    EXPECT_EQ(report::significance_mark(std::nullopt, report::ComparisonUnit::splits), "");
    EXPECT_EQ(report::significance_mark(0.2, report::ComparisonUnit::splits), "");
}

} // namespace
} // namespace scx
