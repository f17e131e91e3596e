// Gene programs of factors: a set made of a factor's top read genes is found (hypergeometric,
// BH), a set off the panel is never tested, and gene sets that share nothing with the panel
// are refused with the count.
#include "scextract/core/error.hpp"
#include "scextract/interpret/factor_enrichment.hpp"
#include "scextract/interpret/program_recovery.hpp"
#include "scextract/stats/statistics.hpp"

#include <gtest/gtest.h>

namespace {

/// 200 genes G0..G199; factor f reads genes [20f, 20f + 20) and writes [20f + 10, 20f + 30).
scx::OperatorFactors block_factors(int r = 4) {
    scx::OperatorFactors f;
    for (int i = 0; i < 200; ++i) f.genes.push_back("G" + std::to_string(i));
    f.scale = Eigen::VectorXd::LinSpaced(r, r, 1);
    f.read = scx::RowMatrixD::Zero(200, r);
    f.write = scx::RowMatrixD::Zero(200, r);
    for (int k = 0; k < r; ++k)
        for (int i = 0; i < 20; ++i) {
            f.read(20 * k + i, k) = 1.0 - 0.01 * i;
            f.write(20 * k + 10 + i, k) = -(1.0 - 0.01 * i);
        }
    return f;
}

scx::GeneSet set_of(std::string name, int from, int to) {
    scx::GeneSet s{std::move(name), "", {}, "test.gmt"};
    for (int i = from; i < to; ++i) s.genes.push_back("g" + std::to_string(i)); // case differs: matched ignoring case
    return s;
}

TEST(FactorEnrichment, FindsTheFactorsOwnGenesAndComputesTheHypergeometricP) {
    const auto f = block_factors();
    std::vector<scx::GeneSet> sets{set_of("F1_READ", 20, 40), set_of("SCATTERED", 150, 160), set_of("TINY", 0, 3),
                                   {"OFF_PANEL", "", {"XYZ1", "XYZ2", "XYZ3", "XYZ4", "XYZ5"}, "test.gmt"}};
    const auto e = scx::enrich_factors(f, sets, {.top_genes = 20});
    EXPECT_EQ(e.sets_given, 4);
    EXPECT_EQ(e.sets_tested, 2) << "TINY has 3 panel genes (< 5), OFF_PANEL none";
    EXPECT_EQ(e.sets_without_panel_genes, 1);
    const scx::EnrichmentTest* hit = nullptr;
    for (const auto& t : e.tests)
        if (t.factor == 1 && t.side == "read" && t.set == "F1_READ") hit = &t;
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->overlap, 20);
    EXPECT_EQ(hit->genes.front(), "G20") << "overlap genes by loading";
    EXPECT_DOUBLE_EQ(hit->p, scx::hypergeometric_upper_tail(20, 200, 20, 20));
    EXPECT_LT(hit->q, 1e-10);
    EXPECT_DOUBLE_EQ(hit->fold, 10.0);
    for (const auto& t : e.tests) EXPECT_FALSE(t.set == "SCATTERED" && t.q < 0.05) << "factor " << t.factor << " " << t.side;
}

TEST(FactorEnrichment, SetsSharingNothingWithThePanelAreRefused) {
    const auto f = block_factors();
    std::vector<scx::GeneSet> mouse{{"Mouse", "", {"Cd3e", "Cd4x", "Ms4a1x", "Lyz2", "Cd19x"}, "m.gmt"}};
    try {
        (void)scx::enrich_factors(f, mouse);
        FAIL() << "enrichment with no testable set";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("none of the 1 gene sets"), std::string::npos) << e.what();
    }
}

TEST(ProgramRecovery, RecoversFactorProgramsAndNotRandomOnes) {
    const auto f = block_factors(6);
    std::vector<scx::GeneProgram> programs;
    for (int k = 0; k < 6; ++k) { // each factor's first 12 read genes
        scx::GeneProgram p{"factor" + std::to_string(k), {}};
        for (int i = 0; i < 12; ++i) p.genes.push_back("G" + std::to_string(20 * k + i));
        programs.push_back(p);
    }
    for (int k = 0; k < 6; ++k) { // scattered programs: every 13th gene from an offset
        scx::GeneProgram p{"scattered" + std::to_string(k), {}};
        for (int i = 0; i < 12; ++i) p.genes.push_back("G" + std::to_string((7 + k + 13 * i) % 200));
        programs.push_back(p);
    }
    programs.push_back({"off_panel", {"NOPE1", "NOPE2"}});
    const auto r = scx::recover_programs(f, programs, {.top_genes = 20, .factors = 6, .permutations = 500});
    ASSERT_EQ(r.programs.size(), 12U);
    EXPECT_EQ(r.skipped, (std::vector<std::string>{"off_panel"}));
    for (int k = 0; k < 6; ++k) {
        const auto& m = r.programs[static_cast<std::size_t>(k)];
        EXPECT_TRUE(m.recovered) << m.program << " q " << m.q;
        EXPECT_EQ(m.factor, k);
        EXPECT_EQ(m.side, "read");
        EXPECT_DOUBLE_EQ(m.jaccard, 12.0 / 20.0);
        EXPECT_DOUBLE_EQ(m.p, 1.0 / 501.0) << "permutation p floor";
    }
    for (int k = 6; k < 12; ++k) EXPECT_FALSE(r.programs[static_cast<std::size_t>(k)].recovered) << r.programs[static_cast<std::size_t>(k)].program;
    EXPECT_EQ(r.n_recovered, 6);
    EXPECT_DOUBLE_EQ(r.fraction_recovered, 0.5);
    // deterministic: the seeded null gives the same p-values again
    const auto again = scx::recover_programs(f, programs, {.top_genes = 20, .factors = 6, .permutations = 500});
    for (std::size_t i = 0; i < r.programs.size(); ++i) EXPECT_EQ(r.programs[i].p, again.programs[i].p);
}

} // namespace
