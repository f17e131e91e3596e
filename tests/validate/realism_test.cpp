// Realism comparison: the KS distance matches scipy's ks_2samp, a data set compared with
// itself is at distance 0 on every statistic, and a changed library size shows up where it
// should.

#include "scextract/validate/realism.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

TEST(Realism, KsDistanceMatchesScipy) {
    std::ifstream f(std::string(SCX_SOURCE_DIR) + "/tests/fixtures/realism/ks.json");
    ASSERT_TRUE(f) << "fixture missing: run tests/fixtures/make_realism_fixtures.py";
    const auto j = nlohmann::json::parse(f);
    for (const auto& [name, c] : j["cases"].items())
        EXPECT_NEAR(scx::ks_distance(c["a"].get<std::vector<double>>(), c["b"].get<std::vector<double>>()),
                    c["statistic"].get<double>(), 1e-12)
            << name;
    EXPECT_TRUE(std::isnan(scx::ks_distance({}, {1.0})));
}

namespace {

/// Cells x genes counts: cell c, gene g holds (c + g) % 4 * scale, donors alternate.
scx::CsrMatrix counts(std::int64_t cells, std::int64_t genes, float scale) {
    scx::CsrMatrix m;
    m.n_rows = cells;
    m.n_cols = genes;
    for (std::int64_t c = 0; c < cells; ++c) {
        for (std::int64_t g = 0; g < genes; ++g) {
            const auto v = static_cast<float>((c * 7 + g * 3) % 5) * scale;
            if (v > 0) {
                m.indices.push_back(static_cast<std::int32_t>(g));
                m.values.push_back(v);
            }
        }
        m.indptr.push_back(static_cast<std::int64_t>(m.values.size()));
    }
    return m;
}

} // namespace

TEST(Realism, ASetComparedWithItselfIsAtZeroAndALibraryShiftIsSeen) {
    const std::vector<std::string> genes = {"CD34", "CD14", "LYZ", "MS4A1", "G5", "G6", "G7", "G8"};
    std::vector<std::string> donors;
    for (int c = 0; c < 60; ++c) donors.push_back(c % 2 ? "a" : "b");
    const auto x = counts(60, 8, 1.0f);
    const auto s = scx::summarize_realism(x, genes, donors, {"CD34", "CD14", "NOTHERE"}, "x");
    EXPECT_EQ(s.markers, (std::vector<std::string>{"CD34", "CD14"}));
    const auto same = scx::compare_realism(s, s);
    ASSERT_EQ(same.statistics.size(), 6u);
    for (const auto& st : same.statistics) EXPECT_EQ(st.value, 0.0) << st.name;
    const auto bigger = scx::summarize_realism(counts(60, 8, 3.0f), genes, {}, {"CD34", "CD14"}, "y");
    const auto c = scx::compare_realism(bigger, s);
    EXPECT_EQ(c.statistics[0].name, "library_size");
    EXPECT_EQ(c.statistics[0].value, 1.0); // every library tripled: the ECDFs do not overlap
    EXPECT_EQ(c.statistics[1].value, 0.0); // the same genes are detected
    EXPECT_TRUE(std::isnan(c.statistics[4].value)); // donor effects need donors in both sets
    EXPECT_FALSE(c.statistics[4].note.empty());
    const auto dir = std::filesystem::temp_directory_path() / "scx_realism_test";
    scx::write_realism_report(c, dir.string());
    for (const char* f : {"realism.tsv", "realism.json", "realism.svg"}) EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
    std::ifstream tsv(dir / "realism.tsv");
    std::string header;
    std::getline(tsv, header);
    EXPECT_EQ(header.rfind("statistic\tdistance\tvalue", 0), 0u);
    std::filesystem::remove_all(dir);
}
