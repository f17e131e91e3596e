// Calibration: the estimates recover what a reference with known parameters was drawn
// from, bad references are refused with one line, the file round-trips, and a calibrated
// design draws cells on the reference's profiles (and keeps its genes across seeds).

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/simulate/calibration_json.hpp"
#include "scextract/simulate/simulator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace {

/// A reference with known truth: two cell types, NB counts with one theta, log-normal
/// libraries, donors with per-gene log-folds of sd donor_sd.
struct KnownReference {
    scx::CsrMatrix counts;
    std::vector<std::string> genes, labels, donors;
    std::vector<std::vector<double>> log_p; ///< [type][gene]
};

KnownReference known_reference(std::int64_t cells, double theta, double donor_sd, std::uint64_t seed = 3) {
    constexpr std::int64_t kGenes = 60;
    const std::vector<std::string> types = {"CD14+ Mono", "B cells"};
    KnownReference r;
    for (std::int64_t g = 0; g < kGenes; ++g) r.genes.push_back("GENE" + std::to_string(g));
    scx::Rng rng(seed, 1);
    for (std::size_t k = 0; k < types.size(); ++k) {
        std::vector<double> w(kGenes);
        for (auto& x : w) x = std::exp(1.2 * rng.normal());
        const double sum = std::accumulate(w.begin(), w.end(), 0.0);
        auto& lp = r.log_p.emplace_back();
        for (const double x : w) lp.push_back(std::log(x / sum));
    }
    std::vector<std::vector<double>> donor_effect(4, std::vector<double>(kGenes));
    for (auto& d : donor_effect)
        for (auto& e : d) e = donor_sd * rng.normal();
    r.counts.n_cols = kGenes;
    for (std::int64_t c = 0; c < cells; ++c) {
        const auto k = static_cast<std::size_t>(c % 2);
        const auto donor = static_cast<std::size_t>((c / 2) % 4);
        r.labels.push_back(types[k]);
        r.donors.push_back("donor" + std::to_string(donor));
        const double library = 2000.0 * std::exp(0.3 * rng.normal());
        std::vector<double> rate(kGenes);
        double sum = 0;
        for (std::int64_t g = 0; g < kGenes; ++g) sum += (rate[g] = std::exp(r.log_p[k][g] + donor_effect[donor][g]));
        for (std::int64_t g = 0; g < kGenes; ++g) {
            const auto x = rng.negative_binomial(library * rate[g] / sum, theta);
            if (x > 0) {
                r.counts.indices.push_back(static_cast<std::int32_t>(g));
                r.counts.values.push_back(static_cast<float>(x));
            }
        }
        r.counts.indptr.push_back(static_cast<std::int64_t>(r.counts.values.size()));
        ++r.counts.n_rows;
    }
    return r;
}

scx::Calibration calibrate(const KnownReference& r, bool with_donors, scx::CalibrationOptions o = {}) {
    return scx::calibrate_simulation(r.counts, r.genes, r.labels, with_donors ? r.donors : std::vector<std::string>{},
                                     scx::default_hematopoiesis_ruler(), "known.h5ad", o);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

TEST(Calibration, RecoversTheProfilesDispersionAndLibrarySizesAReferenceWasDrawnFrom) {
    const auto r = known_reference(2000, 2.0, 0.0);
    const auto cal = calibrate(r, false);
    ASSERT_EQ(cal.stages.size(), 2u);
    for (const auto& st : cal.stages) {
        const std::size_t k = st.stage == "classical_monocyte" ? 0 : 1;
        EXPECT_EQ(st.stage, k == 0 ? "classical_monocyte" : "naive_B");
        EXPECT_EQ(st.n_cells, 1000);
        // genes with a proportion above 1% are estimated within 10% (log 0.1)
        for (std::size_t g = 0; g < r.genes.size(); ++g)
            if (r.log_p[k][g] > std::log(0.01)) EXPECT_NEAR(st.log_profile[g], r.log_p[k][g], 0.1) << r.genes[g];
    }
    EXPECT_NEAR(median(cal.theta), 2.0, 0.3);
    ASSERT_EQ(cal.log_library_quantiles.size(), 101u);
    EXPECT_NEAR(cal.log_library_quantiles[50], std::log(2000.0), 0.05);
    EXPECT_FALSE(cal.donor_effects_estimated);
    // the fitted NB predicts the observed zero fraction
    for (const auto& b : cal.zero_fraction) EXPECT_NEAR(b.observed, b.negative_binomial, 0.03) << b.log10_mean;
}

TEST(Calibration, DonorEffectsAreEstimatedWhenDonorsAreGivenAndNotOtherwise) {
    const auto with = calibrate(known_reference(4000, 5.0, 0.3), true);
    EXPECT_TRUE(with.donor_effects_estimated);
    EXPECT_EQ(with.n_donors, 4);
    EXPECT_NEAR(with.donor_gene_sd, 0.3, 0.08);
    const auto none = calibrate(known_reference(4000, 5.0, 0.0), true);
    EXPECT_LT(none.donor_gene_sd, 0.1);
    EXPECT_FALSE(calibrate(known_reference(4000, 5.0, 0.3), false).donor_effects_estimated);
}

TEST(Calibration, RefusesLogNormalisedValuesFewCellsAndLabelsNoStageTakes) {
    auto r = known_reference(600, 2.0, 0.0);
    auto lognorm = r.counts;
    for (auto& v : lognorm.values) v = std::log1p(v) + 0.25f;
    try {
        scx::calibrate_simulation(lognorm, r.genes, r.labels, {}, scx::default_hematopoiesis_ruler(), "ln.h5ad");
        FAIL() << "log-normalised values accepted";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("ln.h5ad"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("raw counts"), std::string::npos) << e.what();
    }
    scx::CalibrationOptions strict;
    strict.min_cells = 1000;
    EXPECT_THROW(
        {
            try {
                calibrate(r, false, strict);
            } catch (const scx::Error& e) {
                EXPECT_NE(std::string(e.what()).find("--min-cells"), std::string::npos) << e.what();
                throw;
            }
        },
        scx::Error);
    std::vector<std::string> unknown(r.labels.size(), "cluster 7");
    EXPECT_THROW(scx::calibrate_simulation(r.counts, r.genes, unknown, {}, scx::default_hematopoiesis_ruler(), "u.h5ad"),
                 scx::Error);
}

TEST(CalibrationJson, RoundTripsAndRefusesOtherFiles) {
    const auto cal = calibrate(known_reference(1000, 2.0, 0.2), true);
    const auto dir = std::filesystem::temp_directory_path() / "scx_calibration_test";
    std::filesystem::create_directories(dir);
    const auto path = (dir / "cal.json").string();
    scx::write_calibration_json(cal, path);
    const auto back = scx::read_calibration_json(path);
    EXPECT_EQ(back.genes, cal.genes);
    EXPECT_EQ(back.theta, cal.theta);
    EXPECT_EQ(back.log_library_quantiles, cal.log_library_quantiles);
    ASSERT_EQ(back.stages.size(), cal.stages.size());
    EXPECT_EQ(back.stages[0].log_profile, cal.stages[0].log_profile);
    EXPECT_EQ(back.within_type_sd, cal.within_type_sd);
    EXPECT_EQ(back.donor_gene_sd, cal.donor_gene_sd);
    std::ofstream(dir / "ruler.json") << R"({"format": "scextract-ruler"})";
    EXPECT_THROW(scx::read_calibration_json((dir / "ruler.json").string()), scx::Error);
    std::filesystem::remove_all(dir);
}

namespace {

std::vector<std::string> gene_vocabulary(const KnownReference& r) {
    auto v = r.genes;
    v.pop_back(); // one reference gene the model does not know
    return v;
}

} // namespace

TEST(CalibratedSimulation, CellsOfProfiledStagesFollowTheReferenceAndThreadsDoNotMatter) {
    const auto r = known_reference(2000, 5.0, 0.0);
    scx::CalibrationOptions co;
    co.within_type_components = 0;
    const auto cal = calibrate(r, false, co);
    scx::SimulationOptions o;
    o.n_cells = 3000;
    o.n_donors = 3;
    o.donor_gene_sd = 0;
    o.composition = scx::SimulationComposition::reference;
    const auto d = scx::design_calibrated_simulation(scx::default_hematopoiesis_ruler(), cal, gene_vocabulary(r), o);
    ASSERT_EQ(d.genes.size(), r.genes.size() - 1); // the gene outside the vocabulary is dropped
    EXPECT_EQ(d.interpolated_stages.size(), scx::default_hematopoiesis_ruler().stages.size() - 2);
    std::vector<scx::SimulatedCell> cells;
    const auto x = scx::simulate_counts(d, 0, o.n_cells, 1, &cells);
    EXPECT_EQ(scx::simulate_counts(d, 0, o.n_cells, 2).values, x.values);
    const auto mono = scx::default_hematopoiesis_ruler().stage_index("classical_monocyte");
    std::vector<double> sum(d.genes.size(), 0.0);
    double total = 0;
    std::int64_t n_mono = 0;
    for (std::int64_t c = 0; c < x.n_rows; ++c) {
        EXPECT_TRUE(cells[c].stage == mono || d.ruler.stages[cells[c].stage].name == "naive_B");
        if (cells[c].stage != mono) continue;
        ++n_mono;
        for (auto j = x.indptr[c]; j < x.indptr[c + 1]; ++j) {
            sum[x.indices[j]] += x.values[j];
            total += x.values[j];
        }
    }
    EXPECT_NEAR(static_cast<double>(n_mono) / static_cast<double>(x.n_rows), 0.5, 0.1);
    for (std::size_t g = 0; g < d.genes.size(); ++g)
        if (r.log_p[0][g] > std::log(0.02)) EXPECT_NEAR(std::log(sum[g] / total), r.log_p[0][g], 0.15) << g;
}

TEST(CalibratedSimulation, AFixedDesignSeedKeepsTheGenesAndGivesNewDonors) {
    scx::SimulationOptions o;
    o.n_cells = 100;
    o.n_genes = 600;
    o.design_seed = 5;
    const auto& ruler = scx::default_hematopoiesis_ruler();
    std::vector<std::string> vocab;
    for (const auto& st : ruler.stages) vocab.push_back(st.name); // not gene symbols, but plain names
    for (int i = 0; i < 3000; ++i) vocab.push_back("GENE" + std::to_string(i));
    o.seed = 1;
    const auto a = scx::design_simulation(ruler, vocab, o);
    o.seed = 2;
    const auto b = scx::design_simulation(ruler, vocab, o);
    ASSERT_EQ(a.genes.size(), b.genes.size());
    for (std::size_t g = 0; g < a.genes.size(); ++g) EXPECT_EQ(a.genes[g].symbol, b.genes[g].symbol);
    EXPECT_NE(a.donors, b.donors); // named after their seed
    EXPECT_NE(a.donor_gene_effect, b.donor_gene_effect);
    o.design_seed.reset(); // the old layout: the seed is the design's too
    const auto c = scx::design_simulation(ruler, vocab, o);
    std::size_t same = 0;
    for (std::size_t g = 0; g < a.genes.size(); ++g) same += a.genes[g].symbol == c.genes[g].symbol;
    EXPECT_LT(same, a.genes.size());
    EXPECT_EQ(c.donors.front(), "D01");
}
