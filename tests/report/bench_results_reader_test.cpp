// results.json written by bench/bench_results_json.hpp and read back by the report's reader:
// the keys added after version 1 was first written (operator_size) round-trip, files
// without them still read, and the config keys the report follows are validated.

#include "scextract/bench/bench_results_json.hpp"
#include "scextract/core/error.hpp"
#include "scextract/report/bench_results_reader.hpp"

#include "../support/error_of.hpp"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace scx {
namespace {

using nlohmann::json;

/// A results file of two methods and no splits: the reference carries an operator, the other not.
json two_method_results() {
    static CsrMatrix counts;
    counts.n_cols = 2;
    BenchCells cells;
    cells.counts = &counts;
    BenchResult result;
    result.reference = "drift";
    BenchMethodRun drift, pca;
    drift.info = {"drift", "pooled drift operator", PseudotimeClass::supervised, 1200};
    drift.operator_size = OperatorSize{.stored_values = 320000, .mb = 1.28};
    pca.info = {"pca10", "PCA-10", PseudotimeClass::supervised, 400};
    result.methods = {drift, pca};
    return json(bench_results_json(result, cells, {}));
}

TEST(BenchResultsReader, OperatorSizeRoundTrips) {
    const auto j = two_method_results();
    ASSERT_TRUE(j["methods"][0].contains("operator_size"));
    EXPECT_EQ(j["methods"][0]["operator_size"]["stored_values"], 320000);
    EXPECT_FALSE(j["methods"][1].contains("operator_size")) << "a method without an operator writes no key";
    // through text, as a file is read
    const auto r = report::parse_results(json::parse(j.dump(1)), "results.json");
    ASSERT_TRUE(r.methods[0].operator_size);
    EXPECT_EQ(r.methods[0].operator_size->stored_values, 320000);
    EXPECT_EQ(r.methods[0].operator_size->mb, 1.28);
    EXPECT_FALSE(r.methods[1].operator_size);
}

TEST(BenchResultsReader, FilesWithoutOperatorSizesStillRead) {
    // the committed example predates the key
    std::ifstream in(std::string(SCX_SOURCE_DIR) + "/tests/fixtures/eval/bench_results_example.json");
    ASSERT_TRUE(in);
    const auto r = report::parse_results(json::parse(in));
    ASSERT_FALSE(r.methods.empty());
    for (const auto& m : r.methods) EXPECT_FALSE(m.operator_size) << m.name;
    EXPECT_FALSE(r.compression_chain);
    EXPECT_EQ(r.fdr, 0.05);
}

TEST(BenchResultsReader, BadOperatorSizesAndReportSettingsAreNamed) {
    const auto error = [](const json& j) { return test::error_of([&] { (void)report::parse_results(j, "results.json"); }); };
    auto j = two_method_results();
    j["methods"][0]["operator_size"]["mb"] = "big";
    EXPECT_NE(error(j).find("'methods[0].operator_size.mb' must be a number"), std::string::npos) << error(j);
    j = two_method_results();
    j["methods"][0]["operator_size"].erase("stored_values");
    EXPECT_NE(error(j).find("missing key 'methods[0].operator_size.stored_values'"), std::string::npos) << error(j);
    j = two_method_results();
    j["methods"][0]["operator_size"]["mb"] = -1.0;
    EXPECT_NE(error(j).find("operator_size.mb"), std::string::npos) << error(j);

    j = two_method_results();
    j["config"] = {{"compression_chain", true}, {"fdr", 0.1}};
    const auto r = report::parse_results(j);
    EXPECT_TRUE(r.compression_chain);
    EXPECT_EQ(r.fdr, 0.1);
    j["config"]["compression_chain"] = "yes";
    EXPECT_NE(error(j).find("'config.compression_chain' must be true or false"), std::string::npos) << error(j);
    j["config"]["compression_chain"] = true;
    j["config"]["fdr"] = 0;
    EXPECT_NE(error(j).find("config.fdr"), std::string::npos) << error(j);
}

} // namespace
} // namespace scx
