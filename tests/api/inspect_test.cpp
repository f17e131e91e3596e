// inspect (issue 19, item 7): what scextract's own files hold - panel, variant, sizes,
// provenance, training summary and OOD bounds - and what kind of values an input's
// matrices hold, on a real counts file and on a log-normalised copy made from it.

#include "scextract/inspect.hpp"

#include "ood_test_data.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/preprocess/normalize.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace scx {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class Inspect : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(test::pbmc68k_path())) GTEST_SKIP() << "real data absent: " << test::pbmc68k_path();
    }
    test::TempDir dir;
};

TEST_F(Inspect, CountsFile) {
    const auto r = inspect_path(test::pbmc68k_path().string());
    EXPECT_EQ(r.kind, "input");
    EXPECT_EQ(r.summary["values"]["X"]["kind"], "counts");
    EXPECT_TRUE(has(r.text, "X: counts (non-negative integers, max")) << r.text;
}

TEST_F(Inspect, LogNormalisedFileWithACountsLayer) {
    // log1p(normalize_total(target_sum=1e4)) in X, the counts kept in layers['counts']
    auto ad = read_h5ad(test::pbmc68k_path().string());
    const auto counts = to_csr_f32(*ad.X, "X");
    auto x = normalize_total(counts, {.target_sum = 1e4});
    log1p_in_place(x);
    ad.layers.set("counts", Element{from_csr(counts)});
    ad.X = from_csr(x);
    const auto path = (dir / "lognorm.h5ad").string();
    write_h5ad(ad, path);
    const auto r = inspect_path(path);
    const auto& v = r.summary["values"];
    EXPECT_EQ(v["X"]["kind"], "log_normalized");
    EXPECT_TRUE(v["X"]["expm1_row_sums_constant"].get<bool>());
    EXPECT_NEAR(v["X"]["expm1_row_sum"].get<double>(), 1e4, 10);
    EXPECT_EQ(v["layers/counts"]["kind"], "counts");
    EXPECT_TRUE(has(r.text, "X: log-normalised (non-integer, max")) << r.text;
    EXPECT_TRUE(has(r.text, "-> log1p(normalize_total(target_sum=10000))")) << r.text;
    EXPECT_TRUE(has(r.text, "layers/counts: counts")) << r.text;
}

TEST_F(Inspect, AlgorithmAndOperatorFiles) {
    const auto algo = test::fit_small_algorithm(dir.path());
    const auto a = inspect_path(algo);
    EXPECT_EQ(a.kind, "scx");
    const auto& s = a.summary;
    EXPECT_EQ(s["panel_genes"], 200);
    EXPECT_EQ(s["variant"], "cell");
    EXPECT_EQ(s["blocks"][0]["form"], "low_rank");
    EXPECT_EQ(s["blocks"][0]["rank"], 16);
    EXPECT_EQ(s["parameters"]["adaptor"], 5 * 200 + 200);
    EXPECT_GT(s["training"]["cells"].get<std::int64_t>(), 600);
    EXPECT_GT(s["training"]["donors"].get<std::int64_t>(), 0);
    EXPECT_GT(s["ood"]["reconstruction_error_p99"].get<double>(), 0.0);
    for (const auto* part : {"variant: cell adaptor", "rank 16", "parameters: ", "training: ", "out-of-distribution bounds: reconstruction error >",
                             "operator.checkpoint: path test/model.pt, sha256 aaaa"})
        EXPECT_TRUE(has(a.text, part)) << part << "\n" << a.text;

    auto old = read_algorithm_file(algo);
    old.ood = {};
    const auto old_path = (dir / "old.scx").string();
    write_algorithm_file(old, old_path);
    const auto o = inspect_path(old_path);
    EXPECT_TRUE(o.summary["ood"].is_null());
    EXPECT_TRUE(has(o.text, "out-of-distribution bounds: none")) << o.text;

    const auto ops = inspect_path((dir / "ops.scxop").string());
    EXPECT_EQ(ops.summary["kind"], "operator");
    EXPECT_EQ(ops.summary["parameters"], 200 * 200);
    for (const auto* part : {"operators: 1 layers x 1 heads of 200 x 200", "checkpoint: path test/model.pt, sha256 aaaa", "panel: 200 genes"})
        EXPECT_TRUE(has(ops.text, part)) << part << "\n" << ops.text;
}

} // namespace
} // namespace scx
