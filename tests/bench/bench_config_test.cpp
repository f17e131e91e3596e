// The bench config's ladder: "ladder": true compares each method with the one above it or
// the one its "against" names, "controls" adds a gene-permuted twin compared with its
// method, and every key that cannot work is refused with the key named.

#include "scextract/bench/bench_config.hpp"

#include "scextract/core/error.hpp"

#include "../support/temp_dir.hpp"
#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <string>

namespace scx {
namespace {

/// A config over a file that need not exist (reading the config does not open it).
std::string config(const std::string& methods, const std::string& extra = "\"ladder\": true,") {
    return "{\"data\": \"cells.h5ad\", " + extra + " \"methods\": [" + methods + "]}";
}

BenchConfig read(const test::TempDir& dir, const std::string& text) {
    return read_bench_config(test::write_text_file(dir / "bench.json", text).string());
}

/// The message of the Error @p f throws (a test failure when it throws none).
template <class F> std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}

TEST(BenchConfigLadder, PairsFollowTheOrderAgainstAndControls) {
    const test::TempDir dir;
    const auto c = read(dir, config(R"({"type": "pca", "name": "pca10"},
        {"type": "algorithm", "name": "raw_linear", "operator": "identity", "bottleneck": "none"},
        {"type": "algorithm", "name": "atlas", "operator": "a.scxop", "adaptor": "cell", "controls": ["gene_permuted"]},
        {"type": "algorithm", "name": "atlas_unit", "operator": "a.scxop", "latent": "unit", "against": "raw_linear"},
        {"type": "algorithm", "name": "atlas_mlp", "operator": "a.scxop", "readout": "mlp", "hidden": 32})"));
    ASSERT_EQ(c.methods.size(), 6U);
    EXPECT_EQ(c.methods[3].name, "atlas_gene_permuted"); // the twin follows its method
    EXPECT_EQ(c.methods[3].params.at("control"), "gene_permuted");
    EXPECT_EQ(c.methods[3].params.at("adaptor"), "cell");
    EXPECT_FALSE(c.methods[2].params.contains("controls"));
    const std::vector<BenchPair> expected = {{"raw_linear", "pca10", "ladder"},
                                             {"atlas", "raw_linear", "ladder"},
                                             {"atlas", "atlas_gene_permuted", "control"},
                                             {"atlas_unit", "raw_linear", "ladder"},
                                             {"atlas_mlp", "atlas_unit", "ladder"}}; // the twin is not a rung
    ASSERT_EQ(c.options.pairs.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(c.options.pairs[i].method, expected[i].method) << i;
        EXPECT_EQ(c.options.pairs[i].against, expected[i].against) << i;
        EXPECT_EQ(c.options.pairs[i].kind, expected[i].kind) << i;
    }
    // without "ladder" only the controls are paired
    const auto plain = read(dir, config(R"({"type": "raw"},
        {"type": "algorithm", "name": "atlas", "operator": "a.scxop", "controls": ["gene_permuted"]})", ""));
    ASSERT_EQ(plain.options.pairs.size(), 1U);
    EXPECT_EQ(plain.options.pairs[0].kind, "control");
    // ... and a method that names what it is "against" (e.g. a learned model's operator against its random init)
    const auto named = read(dir, config(R"({"type": "raw"}, {"type": "pca", "name": "pca10", "components": 10},
        {"type": "algorithm", "name": "init", "operator": "a.scxop"},
        {"type": "algorithm", "name": "learned", "operator": "a.scxop", "against": "init"})", ""));
    ASSERT_EQ(named.options.pairs.size(), 1U);
    EXPECT_EQ(named.options.pairs[0].method, "learned");
    EXPECT_EQ(named.options.pairs[0].against, "init");
    EXPECT_EQ(named.options.pairs[0].kind, "ladder");
}

TEST(BenchConfigLadder, RefusesWhatCannotWorkNamingTheKey) {
    const test::TempDir dir;
    const std::string alg = R"({"type": "algorithm", "name": "a", "operator": "identity")";
    const auto read_error = [&](const std::string& methods, const std::string& extra = "\"ladder\": true,") {
        return error_of([&] { (void)read(dir, config(methods, extra)); });
    };
    EXPECT_NE(read_error(R"({"type": "raw"}, )" + alg + R"(, "against": "nobody"})").find("'nobody'"), std::string::npos);
    EXPECT_NE(read_error(R"({"type": "raw", "against": "x"})").find("'x'"), std::string::npos);
    EXPECT_NE(read_error(R"({"type": "algorithm", "operator": "a.scxop", "controls": ["shuffled"]})").find("controls[0]"),
              std::string::npos);
    EXPECT_NE(read_error(alg + R"(, "controls": ["gene_permuted"]})").find("identity"), std::string::npos);
    EXPECT_NE(read_error(R"({"type": "raw", "controls": ["gene_permuted"]})").find("controls"), std::string::npos);

    // method parameters are checked when the methods are built (before any split runs)
    const auto tc = test::make_baseline_test_cells();
    const auto build_error = [&](const std::string& method) {
        return error_of([&] { (void)make_bench_methods(read(dir, config(method, "")), tc->cells); });
    };
    EXPECT_NE(build_error(alg + R"(, "bottleneck": "autoencoder"})").find("'bottleneck'"), std::string::npos);
    EXPECT_NE(build_error(alg + R"(, "bottleneck": "none", "latent": "unit"})").find("'latent'"), std::string::npos);
    EXPECT_NE(build_error(alg + R"(, "latent": "sphere"})").find("'latent'"), std::string::npos);
    EXPECT_NE(build_error(alg + R"(, "bottleneck": "pca", "adaptor": "cell"})").find("'adaptor'"), std::string::npos);
    EXPECT_NE(build_error(alg + R"(, "components": 5})").find("'components'"), std::string::npos);
    EXPECT_NE(build_error(alg + R"(, "readout": "forest"})").find("'readout'"), std::string::npos);
    EXPECT_NE(build_error(alg + R"(, "hidden": 16})").find("'hidden'"), std::string::npos);
    EXPECT_NE(build_error(alg + R"(, "orientation": "xAT"})").find("'orientation'"), std::string::npos);
    // a selection needs two candidates of known types, and endpoints that exist
    EXPECT_NE(build_error(R"({"type": "select", "candidates": [)" + alg + "}]}").find("'candidates'"), std::string::npos);
    EXPECT_NE(build_error(R"({"type": "select", "candidates": [)" + alg + R"(}, {"type": "forest"}]})").find("candidates[1]"),
              std::string::npos);
    EXPECT_NE(build_error(R"({"type": "select", "endpoints": ["speed"], "candidates": [)" + alg + "}, " + alg + "}]}")
                  .find("speed"),
              std::string::npos);
    EXPECT_NE(build_error(R"({"type": "select", "folds": 1, "candidates": [)" + alg + "}, " + alg + "}]}").find("'folds'"),
              std::string::npos);
    // and the rungs that can work are built
    EXPECT_EQ(make_bench_methods(read(dir, config(alg + R"(, "bottleneck": "pca", "components": 4}, )" +
                                                   R"({"type": "algorithm", "name": "b", "operator": "identity", "readout": "mlp"})",
                                               "")),
                                 tc->cells)
                  .size(),
              2U);
    const auto selected = make_bench_methods(
        read(dir, config(R"({"type": "select", "name": "sel", "candidates": [
                             {"type": "algorithm", "name": "x", "operator": "identity"},
                             {"type": "algorithm", "name": "y", "operator": "identity", "bottleneck": "none"}]})",
                         "")),
        tc->cells);
    ASSERT_EQ(selected.size(), 1U);
    EXPECT_NE(selected[0]->info().description.find("x, y"), std::string::npos) << selected[0]->info().description;
}

// "compression_chain" asks the report for the chain table; like every key it is typed.
TEST(BenchConfig, CompressionChainIsTrueOrFalse) {
    const test::TempDir dir;
    const std::string methods = R"({"type": "algorithm", "name": "drift", "operator": "a.scxop"},
        {"type": "algorithm", "name": "head", "operator": "a.scxop", "features": "head", "head": "2:5"})";
    EXPECT_FALSE(read(dir, config(methods, "")).compression_chain);
    EXPECT_TRUE(read(dir, config(methods, "\"compression_chain\": true,")).compression_chain);
    EXPECT_FALSE(read(dir, config(methods, "\"compression_chain\": false,")).compression_chain);
    for (const std::string bad : {"\"yes\"", "1", "[true]"}) {
        const auto e = error_of([&] { (void)read(dir, config(methods, "\"compression_chain\": " + bad + ",")); });
        EXPECT_NE(e.find("bench.json: $: 'compression_chain' must be true or false"), std::string::npos) << bad << ": " << e;
    }
    // a misspelt key is refused, not ignored
    EXPECT_NE(error_of([&] { (void)read(dir, config(methods, "\"compression_chian\": true,")); }).find("unknown key 'compression_chian'"),
              std::string::npos);
    // the q threshold the chain counts losses at must be one
    EXPECT_NE(error_of([&] { (void)read(dir, config(methods, "\"fdr\": 0,")); }).find("'fdr'"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)read(dir, config(methods, "\"fdr\": 1.5,")); }).find("'fdr'"), std::string::npos);
}

} // namespace
} // namespace scx
