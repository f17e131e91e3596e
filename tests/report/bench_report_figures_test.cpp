// Issue 19, item 8: the report's manifold views (every method, legend of the
// classes drawn only), confusion tables, and the note of the smallest attainable p.

#include "scextract/core/error.hpp"
#include "scextract/report/bench_report.hpp"
#include "scextract/report/bench_report_figures.hpp"
#include "scextract/report/bench_results_reader.hpp"
#include "scextract/report/palette.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>

#include "report_test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace scx::report {
namespace {

using nlohmann::json;
using scx::test::count;
using scx::test::element;
using scx::test::example_results;

/// The example results with what a current bench writes added: every method's manifold with
/// the cells' labels and predicted stages, confusion counts, branches per pseudotime point.
json current_results() {
    auto j = example_results();
    auto& f = j["figures"];
    const auto base = f["manifold"];
    const auto n = base["x"].size();
    const auto n_stages = base["stages"].size();
    f["branches"] = {"myeloid", "lymphoid", "erythroid"};
    json manifolds = json::array();
    for (const auto* method : {"scextract", "pca_dpt", "logreg_hvg"}) {
        auto v = base;
        v["method"] = method;
        v["labels"] = {"B cell", "CD14 monocyte", "HSC", "NK cell", "unused label"};
        json label = json::array(), predicted = json::array();
        for (std::size_t i = 0; i < n; ++i) {
            label.push_back(i % 4); // "unused label" never occurs
            predicted.push_back(i % 7 == 0 ? -1 : static_cast<int>(i % 3));
        }
        v["label"] = label;
        v["predicted_stage"] = std::string(method) == "pca_dpt" ? json(nullptr) : predicted;
        manifolds.push_back(v);
    }
    f["manifolds"] = manifolds;
    json confusion = json::array();
    confusion.push_back({{"method", "scextract"}, {"task", "branch"}, {"split", 0},
                         {"classes", f["branches"]},
                         {"counts", {{5, 1, 0, 2}, {0, 7, 0, 0}, {0, 0, 0, 0}}}});
    json stage_counts = json::array();
    for (std::size_t t = 0; t < n_stages; ++t) stage_counts.push_back(json(std::vector<int>(n_stages + 1, 0)));
    stage_counts[0][0] = 3;
    stage_counts[0][1] = 1;
    stage_counts[1][1] = 4;
    confusion.push_back({{"method", "scextract"}, {"task", "stage"}, {"split", 0}, {"classes", base["stages"]},
                         {"counts", stage_counts}});
    f["confusion"] = confusion;
    for (auto& p : f["pseudotime"]) {
        json branch = json::array();
        for (std::size_t i = 0; i < p["depth"].size(); ++i) branch.push_back(i % 2);
        p["branch"] = branch;
    }
    return j;
}

TEST(ManifoldView, LegendListsOnlyTheClassesDrawn) {
    ManifoldView v{.method = "m", .split = 0, .x = {0, 1, 2, 3}, .y = {0, 1, 0, 1}, .stage = {0, 0, 2, 2},
                   .stages = {"HSC", "never_drawn_stage", "B_cell"}, .label = {1, 1, 1, 3},
                   .labels = {"absent A", "T cell", "absent B", "NK cell"}, .predicted_stage = {0, -1, 0, 2}};
    EXPECT_EQ(present_classes(v.stage, v.stages.size()), (std::vector<std::size_t>{0, 2}));
    const auto by_stage = manifold_view_svg(v, ManifoldColouring::true_stage, "s");
    EXPECT_NE(by_stage.find("HSC (2)"), std::string::npos) << by_stage;
    EXPECT_NE(by_stage.find("B_cell (2)"), std::string::npos);
    EXPECT_EQ(by_stage.find("never_drawn_stage"), std::string::npos);
    const auto by_label = manifold_view_svg(v, ManifoldColouring::label, "l");
    EXPECT_NE(by_label.find("T cell (3)"), std::string::npos) << by_label;
    EXPECT_NE(by_label.find("NK cell (1)"), std::string::npos);
    EXPECT_EQ(by_label.find("absent"), std::string::npos);
    const auto by_prediction = manifold_view_svg(v, ManifoldColouring::predicted_stage, "p");
    EXPECT_NE(by_prediction.find("no prediction (1)"), std::string::npos) << by_prediction;
    EXPECT_EQ(by_prediction.find("never_drawn_stage"), std::string::npos);
    // two classes drawn: two colours, both different
    EXPECT_GE(count(by_stage, distinct_palette(2)[0]), 3u); // two cells and a legend mark
    EXPECT_GE(count(by_stage, distinct_palette(2)[1]), 3u);
    // a view without predictions cannot be coloured by them
    v.predicted_stage.clear();
    EXPECT_FALSE(manifold_has_colouring(v, ManifoldColouring::predicted_stage));
    EXPECT_EQ(manifold_view_svg(v, ManifoldColouring::predicted_stage, "p"), "");
}

TEST(ConfusionTable, CountsRowsAndColumnsOfThePresentClasses) {
    const ConfusionView c{.method = "scextract", .task = "branch", .split = 2,
                          .classes = {"myeloid", "lymphoid", "erythroid", "empty"},
                          .counts = {{5, 1, 0, 0, 2}, {0, 7, 0, 0, 0}, {1, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}};
    const auto html = confusion_table_html(c);
    EXPECT_NE(html.find("<div class=\"wide\"><table class=\"confusion\""), std::string::npos);
    EXPECT_NE(html.find("12 of 16 held-out cells of split 2 correct (75.0%)"), std::string::npos) << html;
    // rows: the three true classes with cells; "empty" is neither a row nor a column
    EXPECT_EQ(count(html, "<tr><th scope=\"row\""), 3u);
    EXPECT_EQ(html.find(">empty<"), std::string::npos);
    // a "none" column, because two myeloid cells had no prediction
    EXPECT_NE(html.find("title=\"none\""), std::string::npos);
    EXPECT_NE(html.find("title=\"true myeloid, predicted none: 2 of 8\">2</td>"), std::string::npos) << html;
    EXPECT_NE(html.find("class=\"diag\""), std::string::npos);
    EXPECT_NE(html.find("title=\"true lymphoid, predicted lymphoid: 7 of 7\">7</td>"), std::string::npos);
    EXPECT_NE(html.find("title=\"true erythroid, predicted myeloid: 1 of 1\">1</td>"), std::string::npos);
    // totals per true class
    EXPECT_NE(html.find("<td>8</td></tr>"), std::string::npos);
}

TEST(BenchReportFigures, MinAttainablePNote) {
    // the example: 4 splits (floor 0.125: nothing can be significant), 8 donors (0.0078)
    auto j = example_results();
    const auto r = parse_results(j);
    const auto note = attainable_p_note(r);
    EXPECT_NE(note.find("class=\"warn\""), std::string::npos) << note;
    EXPECT_NE(note.find("Over the 4 splits: the smallest attainable p is 2/2<sup>4</sup> = 0.125"), std::string::npos) << note;
    EXPECT_NE(note.find("No comparison over splits can be significant"), std::string::npos);
    EXPECT_NE(note.find("Over the 8 distinct held-out donors: the smallest attainable p is 2/2<sup>8</sup> = 0.00781"),
              std::string::npos) << note;
    EXPECT_EQ(note.find("No comparison over donors"), std::string::npos);
    // five donors: 0.0625, the case
    for (auto& c : j["comparisons"])
        if (c["unit"] == "donors" && c["n"].get<int>() > 0) c["n"] = 5;
    const auto five = attainable_p_note(parse_results(j));
    EXPECT_NE(five.find("2/2<sup>5</sup> = 0.0625"), std::string::npos) << five;
    EXPECT_NE(five.find("No comparison over donors can be significant, whatever the data"), std::string::npos);
    const auto html = render_bench_report_html(j);
    EXPECT_NE(element(html, "section", "comparisons").find("No comparison over donors can be significant"), std::string::npos);
}

TEST(BenchReportFigures, EveryMethodsManifoldIsSelectable) {
    const auto html = render_bench_report_html(current_results());
    const auto fig = element(html, "figure", "fig-manifold");
    ASSERT_FALSE(fig.empty());
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(count(fig, "name=\"mf-method\""), 3u);
    EXPECT_EQ(count(fig, "name=\"mf-colour\""), 3u); // own labels, predicted stage, ruler stage
    // the reference is picked first, coloured by the cells' own labels
    EXPECT_NE(fig.find("id=\"mf-m-0\" checked><label for=\"mf-m-0\">scextract<"), std::string::npos) << fig.substr(0, 600);
    EXPECT_NE(fig.find("id=\"mf-c-label\" checked"), std::string::npos);
    // method x colouring panels; pca_dpt predicts no stage, so that panel says so instead of drawing
    EXPECT_EQ(count(fig, "class=\"mf-panel "), 9u);
    EXPECT_EQ(count(fig, "<svg "), 8u);
    EXPECT_NE(fig.find("pca_dpt records no predicted stage"), std::string::npos);
    EXPECT_EQ(fig.find("unused label"), std::string::npos);
    EXPECT_NE(html.find("#mf-m-1:checked ~ #mf-c-predicted:checked ~ .mf-panels > .mf-1-predicted { display: block; }"),
              std::string::npos);
    EXPECT_EQ(fig.find("written before every method"), std::string::npos);
    // confusion tables: scextract's branch and stage, the empty erythroid row left out
    const auto conf = element(html, "figure", "fig-confusion");
    EXPECT_EQ(count(conf, "<table class=\"confusion\""), 2u) << conf;
    EXPECT_EQ(conf.find(">erythroid<"), std::string::npos);
    // pseudotime cells coloured by branch with a legend of the two branches drawn
    const auto pt = element(html, "figure", "fig-pseudotime");
    EXPECT_NE(pt.find("ruler branch"), std::string::npos);
    EXPECT_NE(pt.find(">lymphoid<"), std::string::npos) << pt.substr(0, 400);
    EXPECT_EQ(pt.find(">erythroid<"), std::string::npos);
}

TEST(BenchReportFigures, OldResultsStillRenderAndSayWhatIsMissing) {
    const auto html = render_bench_report_html(example_results());
    const auto fig = element(html, "figure", "fig-manifold");
    EXPECT_EQ(count(fig, "<svg "), 1u);
    EXPECT_NE(fig.find("written before every method's latent"), std::string::npos);
    EXPECT_NE(element(html, "figure", "fig-confusion").find("written before confusion counts were recorded"), std::string::npos);
    EXPECT_NE(element(html, "figure", "fig-pseudotime").find("predates per-cell branches"), std::string::npos);
    // every table in a scroll container
    EXPECT_EQ(count(html, "<table"), count(html, "<div class=\"wide\"><table"));
}

TEST(BenchReportFigures, BadIndicesAreRefused) {
    auto j = current_results();
    j["figures"]["manifolds"][0]["label"][0] = 5;
    EXPECT_THROW((void)parse_results(j), Error);
    j = current_results();
    j["figures"]["confusion"][0]["counts"][0].erase(0);
    EXPECT_THROW((void)parse_results(j), Error);
    j = current_results();
    j["figures"]["manifolds"][1]["method"] = "nobody";
    EXPECT_THROW((void)parse_results(j), Error);
}

} // namespace
} // namespace scx::report
