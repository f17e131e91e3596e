// Hostile bench configs, made here: 100,000-deep JSON and absurd declared sizes are refused
// before any work, with one line naming the config file and the JSON path.

#include "scextract/bench/bench_config.hpp"
#include "scextract/bench/dpt_method.hpp"
#include "scextract/bench/mlp_probe_method.hpp"
#include "scextract/bench/nested_selection.hpp"
#include "scextract/bench/palantir_method.hpp"
#include "scextract/bench/pca_method.hpp"
#include "scextract/bench/scvi_method.hpp"

#include "scextract/core/error.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace scx {
namespace {

std::string error_reading(const test::TempDir& dir, const std::string& text) {
    const auto path = test::write_text_file(dir / "bench.json", text).string();
    try {
        (void)read_bench_config(path);
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg; // starts with the file
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_LT(msg.size(), 300u) << msg.substr(0, 300);
        return msg;
    }
    ADD_FAILURE() << "no error for " << text.substr(0, 200);
    return {};
}

std::string config(const std::string& extra, const std::string& data = "\"cells.h5ad\"") {
    return "{\"data\": " + data + ", " + extra + " \"methods\": [{\"type\": \"pca\"}]}";
}

TEST(BenchConfigBounds, RefusesDeepJson) {
    const test::TempDir dir;
    const int n = 100000;
    const std::string arrays = std::string(n, '[') + std::string(n, ']');
    std::string objects;
    for (int i = 0; i < n; ++i) objects += "{\"a\":";
    objects += "1" + std::string(n, '}');
    for (const auto& deep : {arrays, objects, config("\"ladder\": " + arrays + ",")})
        EXPECT_NE(error_reading(dir, deep).find("JSON nested more than 64 levels deep"), std::string::npos);
}

TEST(BenchConfigBounds, RefusesImplausibleSizesNamingTheJsonPath) {
    const test::TempDir dir;
    const auto sim = [](const std::string& fields) { return "{\"simulate\": {" + fields + "}}"; };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {config("", sim("\"cells\": 1000000000000")), "$.data.simulate: 'cells': 1000000000000 is more than 10000000 cells"},
        {config("", sim("\"cells\": 0")), "$.data.simulate: 'cells': 0 is less than 1"},
        {config("", sim("\"donors\": 1000000000")), "$.data.simulate: 'donors': 1000000000 is more than 20000"},
        {config("", sim("\"cells\": 100, \"donors\": 101")), "'donors': 101 is more than 100"},
        {config("", sim("\"genes\": -5")), "$.data.simulate: 'genes': -5 is less than 1"},
        {config("", sim("\"cells\": 1e12")), "$.data.simulate: 'cells' must be an integer"},
        {config("", sim("\"cels\": 10")), "$.data.simulate: unknown key 'cels'"},
        {config("\"panel\": {\"size\": 1000000000},"), "$.panel: 'size': 1000000000 is more than 100000 genes"},
        {config("\"panel\": {\"size\": 1e9},"), "$.panel: 'size' must be an integer"},
        {config("\"fdr\": -1,"), "$: 'fdr': -1 is not a q threshold in (0, 1)"},
        {config("\"fdr\": 1,"), "$: 'fdr': 1 is not a q threshold in (0, 1)"},
        {config("\"splits\": {\"n\": 1000000},"), "$.splits: 'n': 1000000 is more than 1000 splits"},
        {config("\"splits\": {\"n\": -3},"), "$.splits: 'n' must be at least 1"},
        {config("\"splits\": {\"test_donors\": 1000000000},"), "$.splits: 'test_donors': 1000000000 is more than 1000000"},
        {config("\"min_donor_cells\": -1,"), "$: 'min_donor_cells': -1 is less than 0"},
        {config("\"figure_points\": 100000000000,"), "$: 'figure_points': 100000000000 is more than 10000000"},
    };
    for (const auto& [text, needle] : cases) EXPECT_NE(error_reading(dir, text).find(needle), std::string::npos) << needle;
    // sane values still read
    const auto path = test::write_text_file(dir / "ok.json", config("\"fdr\": 0.1, \"panel\": {\"size\": 2000},",
                                                                    sim("\"cells\": 5000, \"donors\": 10"))).string();
    const auto c = read_bench_config(path);
    EXPECT_EQ(c.panel_size, 2000);
    EXPECT_DOUBLE_EQ(c.options.fdr, 0.1);
}

TEST(BenchConfigBounds, RefusesOversizedConfigFiles) {
    const test::TempDir dir;
    const auto msg = error_reading(dir, config("") + std::string(17 << 20, ' '));
    EXPECT_NE(msg.find("is more than a bench config can be"), std::string::npos) << msg;
}

TEST(BenchConfigBounds, MethodCountsHaveUpperBoundsNamingTheEntry) {
    using J = nlohmann::ordered_json;
    const std::string where = "bench.json: $.methods[2] ('m')";
    const auto msg = [&](auto parse, const char* params) {
        try {
            (void)parse(J::parse(params), where);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(msg(nested_selection_options_from_json, R"({"candidates": [{}, {}], "folds": 1000000000})"),
              where + ": 'folds': 1000000000 is more than 1000");
    EXPECT_EQ(msg(nested_selection_options_from_json, R"({"candidates": [{}, {}], "folds": -4})"),
              where + ": 'folds' must be at least 2");
    EXPECT_EQ(msg(dpt_method_options_from_json, R"({"n_pcs": 1000000000})"), where + ": 'n_pcs': 1000000000 is more than 10000");
    EXPECT_EQ(msg(palantir_method_options_from_json, R"({"num_waypoints": 1000000000000})"),
              where + ": 'num_waypoints': 1000000000000 is more than 1000000");
    EXPECT_EQ(msg(scvi_method_options_from_json, R"({"max_epochs": 1000000000})"),
              where + ": 'max_epochs': 1000000000 is more than 100000");
    EXPECT_EQ(msg(pca_method_options_from_json, R"({"components": 1000000000})"),
              where + ": 'components': 1000000000 is more than 100000");
    EXPECT_EQ(msg(mlp_probe_method_options_from_json, R"({"model": "m", "epochs": 1000000000})"),
              where + ": 'epochs': 1000000000 is more than 100000");
}

} // namespace
} // namespace scx
