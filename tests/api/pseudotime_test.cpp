// `pseudotime` (include/scextract/pseudotime.hpp) on a real file against scanpy 1.11.5 and
// palantir 1.4.5 (tests/fixtures/pseudotime, written by
// tests/fixtures/eval/make_pseudotime_fixtures.py), with the benchmark anchors' fidelity rules
// (bench/anchors/run.py): DPT Spearman >= 0.99; Palantir Spearman to palantir at the same seed
// >= palantir's median seed-to-seed Spearman - 0.01. The data (scanpy's pbmc68k_reduced,
// BSD-3-Clause) is read from ../shared/data and the tests skip without it; the errors and the
// output layout are checked on the same file.
#include "scextract/pseudotime.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/npy.hpp"
#include "scextract/stats/statistics.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace scx {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(SCX_SOURCE_DIR) / "tests/fixtures/pseudotime";
const fs::path kData = fs::path(SCX_SHARED_DATA_DIR) / "scanpy_pbmc68k_reduced/scanpy_pbmc68k_reduced.h5ad";

nlohmann::json reference() {
    std::ifstream in(kFixtures / "reference.json");
    return nlohmann::json::parse(in);
}

std::vector<double> expected(const std::string& name) { return read_npy(kFixtures / name).to_double(); }

/// A numeric obs column of @p ad as doubles.
std::vector<double> obs_numbers(const AnnData& ad, const std::string& name) {
    const auto* c = ad.obs.find(name);
    if (c == nullptr) throw Error("no obs column " + name);
    const auto& a = std::get<NdArray>(*c);
    std::vector<double> v(static_cast<std::size_t>(a.size()));
    for (std::int64_t i = 0; i < a.size(); ++i) v[static_cast<std::size_t>(i)] = a.at(i);
    return v;
}

/// Spearman over the cells finite in both (scipy's on the same cells), and whether the
/// finite cells agree.
std::pair<double, bool> finite_spearman(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> x, y;
    bool same = a.size() == b.size();
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        same = same && std::isfinite(a[i]) == std::isfinite(b[i]);
        if (std::isfinite(a[i]) && std::isfinite(b[i])) x.push_back(a[i]), y.push_back(b[i]);
    }
    return {spearman(x, y), same};
}

#define SKIP_WITHOUT_DATA()                                                                                            \
    if (!fs::exists(kData)) GTEST_SKIP() << kData << " is absent (the shared data folder); nothing to compare with"

PseudotimeFileOptions base(const test::TempDir& dir, const std::string& method) {
    PseudotimeFileOptions o;
    o.method = method;
    o.input = kData.string();
    o.out = (dir / "out.h5ad").string();
    o.threads = 2;
    return o;
}

TEST(Pseudotime, DptOnUseRepMatchesScanpyAndRootsAtTheLabelMedoid) {
    SKIP_WITHOUT_DATA();
    const test::TempDir dir;
    auto o = base(dir, "dpt");
    o.use_rep = "X_pca";
    o.root_label = "CD34+";
    o.label_key = "cell_type";
    const auto r = pseudotime_file(o);
    const auto ref = reference();
    EXPECT_EQ(r.root, ref["root"].get<std::string>());
    EXPECT_EQ(r.root_index, ref["root_row"].get<std::int64_t>());
    const auto ad = read_h5ad(o.out);
    const auto [rho, same_inf] = finite_spearman(obs_numbers(ad, "dpt_pseudotime"), expected("dpt_use_rep.npy"));
    std::printf("DPT (use_rep X_pca) Spearman vs scanpy: %.6f\n", rho);
    EXPECT_GE(rho, ref["dpt_spearman_target"].get<double>());
    EXPECT_TRUE(same_inf);
    // the input survives: X, its obs columns, obsm
    EXPECT_EQ(ad.n_obs, 700);
    EXPECT_NE(ad.obs.find("cell_type"), nullptr);
    EXPECT_TRUE(ad.obsm.contains("X_umap"));
    EXPECT_TRUE(ad.uns.contains("iroot"));
    EXPECT_TRUE(ad.uns.contains("scx_pseudotime"));
}

TEST(Pseudotime, DptFromCountsMatchesScanpy) {
    SKIP_WITHOUT_DATA();
    const test::TempDir dir;
    auto o = base(dir, "dpt");
    o.root = reference()["root"].get<std::string>();
    o.n_top_genes = 500;
    const auto r = pseudotime_file(o);
    EXPECT_NE(r.representation.find("500 HVGs"), std::string::npos) << r.representation;
    const auto [rho, same_inf] =
        finite_spearman(obs_numbers(read_h5ad(o.out), "dpt_pseudotime"), expected("dpt_counts.npy"));
    std::printf("DPT (counts -> log1p -> 500 HVGs -> PCA 50) Spearman vs scanpy: %.6f\n", rho);
    EXPECT_GE(rho, reference()["dpt_spearman_target"].get<double>());
    EXPECT_TRUE(same_inf);
}

TEST(Pseudotime, PalantirOnUseRepMatchesPalantir) {
    SKIP_WITHOUT_DATA();
    const test::TempDir dir;
    auto o = base(dir, "palantir");
    o.use_rep = "X_pca";
    const auto ref = reference();
    o.root = ref["root"].get<std::string>();
    const auto r = pseudotime_file(o);
    const auto ad = read_h5ad(o.out);
    const auto [rho, same] = finite_spearman(obs_numbers(ad, "palantir_pseudotime"), expected("palantir_seed20_pseudotime.npy"));
    std::printf("Palantir pseudotime Spearman vs palantir (seed 20): %.6f (target %.6f)\n", rho,
                ref["palantir_spearman_target"].get<double>());
    EXPECT_GE(rho, ref["palantir_spearman_target"].get<double>());
    EXPECT_TRUE(same);

    const auto want = ref["terminal_states"]["20"].get<std::vector<std::string>>();
    EXPECT_EQ(r.terminal_states, want);
    const auto* columns = ad.uns.find("palantir_fate_probabilities_columns");
    ASSERT_NE(columns, nullptr);
    EXPECT_EQ(std::get<StringArray>(columns->value).values, r.terminal_states);
    const auto& fates = std::get<NdArray>(ad.obsm.find("palantir_fate_probabilities")->value);
    ASSERT_EQ(fates.shape, (std::vector<std::int64_t>{700, static_cast<std::int64_t>(r.terminal_states.size())}));
    if (r.terminal_states == want) {
        const auto theirs = expected("palantir_seed20_fates.npy");
        const auto k = static_cast<std::int64_t>(want.size());
        for (std::int64_t c = 0; c < k; ++c) {
            std::vector<double> a, b;
            for (std::int64_t i = 0; i < 700; ++i) {
                a.push_back(fates.at(i * k + c));
                b.push_back(theirs[static_cast<std::size_t>(i * k + c)]);
            }
            double worst = 0.0;
            for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
            const double rc = spearman(a, b);
            std::printf("fate probability '%s' Spearman vs palantir: %.6f, largest difference %.2g\n",
                        want[static_cast<std::size_t>(c)].c_str(), rc, worst);
            // values, not ranks: many cells share a probability up to rounding, which makes the
            // Spearman of a column a poor measure
            EXPECT_LT(worst, 1e-6) << want[static_cast<std::size_t>(c)];
        }
        const auto ours_e = obs_numbers(ad, "palantir_entropy"), theirs_e = expected("palantir_seed20_entropy.npy");
        const auto [re, same_e] = finite_spearman(ours_e, theirs_e);
        double worst = 0.0;
        for (std::size_t i = 0; i < ours_e.size(); ++i) worst = std::max(worst, std::abs(ours_e[i] - theirs_e[i]));
        std::printf("entropy Spearman vs palantir: %.6f, largest difference %.2g\n", re, worst);
        EXPECT_TRUE(same_e);
        EXPECT_GE(re, 0.99);
        EXPECT_LT(worst, 1e-6);
    }
}

TEST(Pseudotime, SameBitsForEveryThreadCount) {
    SKIP_WITHOUT_DATA();
    const test::TempDir dir;
    for (const std::string method : {"dpt", "palantir"}) {
        std::vector<std::vector<double>> runs;
        for (const int threads : {1, 3}) {
            auto o = base(dir, method);
            o.root_label = "CD34+";
            o.label_key = "cell_type";
            o.n_top_genes = 300;
            o.num_waypoints = 300;
            o.threads = threads;
            o.out = (dir / fmt::format("{}_{}.h5ad", method, threads)).string();
            pseudotime_file(o);
            const auto ad = read_h5ad(o.out);
            auto v = obs_numbers(ad, method == "dpt" ? "dpt_pseudotime" : "palantir_pseudotime");
            if (method == "palantir") {
                const auto e = obs_numbers(ad, "palantir_entropy");
                v.insert(v.end(), e.begin(), e.end());
                const auto& f = std::get<NdArray>(ad.obsm.find("palantir_fate_probabilities")->value);
                for (std::int64_t i = 0; i < f.size(); ++i) v.push_back(f.at(i));
            }
            runs.push_back(std::move(v));
        }
        EXPECT_EQ(runs[0], runs[1]) << method;
    }
}

TEST(Pseudotime, ErrorsNameTheFileAndLeaveNoOutput) {
    SKIP_WITHOUT_DATA();
    const test::TempDir dir;
    auto o = base(dir, "dpt");
    o.use_rep = "X_pca";
    o.root = "no-such-cell";
    auto msg = test::error_of([&] { pseudotime_file(o); });
    EXPECT_NE(msg.find(kData.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("no-such-cell"), std::string::npos) << msg;

    o.root.clear();
    o.root_label = "Megakaryocyte";
    o.label_key = "cell_type";
    msg = test::error_of([&] { pseudotime_file(o); });
    EXPECT_NE(msg.find("'Megakaryocyte'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("CD34+"), std::string::npos) << msg; // the labels there are

    o.label_key = "no_such_column";
    msg = test::error_of([&] { pseudotime_file(o); });
    EXPECT_NE(msg.find("no_such_column"), std::string::npos) << msg;

    o.root_label.clear();
    o.root = reference()["root"].get<std::string>();
    o.use_rep = "X_scvi";
    msg = test::error_of([&] { pseudotime_file(o); });
    EXPECT_NE(msg.find("obsm has no 'X_scvi'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("X_pca"), std::string::npos) << msg; // the keys there are

    o.use_rep = "X_pca";
    o.method = "palantir";
    o.knn = 800;
    msg = test::error_of([&] { pseudotime_file(o); });
    EXPECT_NE(msg.find("700 cells"), std::string::npos) << msg;

    o.method = "dpt";
    o.knn = 30;
    o.out = o.input;
    EXPECT_NE(test::error_of([&] { pseudotime_file(o); }), "");
    EXPECT_FALSE(fs::exists(dir / "out.h5ad"));
    for (const auto& e : fs::directory_iterator(dir.path())) ADD_FAILURE() << "left behind: " << e.path();
}

TEST(Pseudotime, UsageErrors) {
    PseudotimeFileOptions o;
    o.input = "x.h5ad";
    o.out = "y.h5ad";
    EXPECT_THROW(pseudotime_file(o), UsageError); // no root
    o.root = "c";
    o.method = "monocle";
    EXPECT_THROW(pseudotime_file(o), UsageError);
    o.method = "dpt";
    o.root_label = "HSC";
    EXPECT_THROW(pseudotime_file(o), UsageError); // both roots
}

} // namespace
} // namespace scx
