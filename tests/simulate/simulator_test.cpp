// The simulator: reproducible for any thread count and block size, truthful obs, real
// markers, donor effects, and a null model whose labels say nothing about expression.

#include "scextract/core/error.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/io/vocab_json.hpp"
#include "scextract/simulate/simulator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace {

const std::vector<std::string>& vocabulary() {
    static const std::vector<std::string> symbols = [] {
        const auto vocab = scx::read_vocab_json(std::string(SCX_SOURCE_DIR) + "/data/scgpt_whole_human_vocab.json");
        std::vector<std::pair<std::int64_t, std::string>> by_id;
        for (const auto& [s, id] : vocab) by_id.emplace_back(id, s);
        std::sort(by_id.begin(), by_id.end());
        std::vector<std::string> out;
        for (auto& [_, s] : by_id) out.push_back(s);
        return out;
    }();
    return symbols;
}

scx::SimulationDesign design(std::int64_t cells, bool null_model = false, std::uint64_t seed = 7) {
    scx::SimulationOptions o;
    o.n_cells = cells;
    o.n_donors = 4;
    o.n_genes = 1000;
    o.seed = seed;
    o.null_model = null_model;
    return scx::design_simulation(scx::default_hematopoiesis_ruler(), vocabulary(), o);
}

bool same(const scx::CsrMatrix& a, const scx::CsrMatrix& b) {
    return a.n_rows == b.n_rows && a.n_cols == b.n_cols && a.indptr == b.indptr && a.indices == b.indices &&
           a.values == b.values;
}

scx::CsrMatrix vstack2(const scx::CsrMatrix& a, const scx::CsrMatrix& b) {
    scx::CsrMatrix m = a;
    for (std::int64_t r = 0; r < b.n_rows; ++r) m.indptr.push_back(a.nnz() + b.indptr[r + 1]);
    m.values.insert(m.values.end(), b.values.begin(), b.values.end());
    m.indices.insert(m.indices.end(), b.indices.begin(), b.indices.end());
    m.n_rows += b.n_rows;
    return m;
}

TEST(Simulator, SameBitsForAnyThreadCountAndBlocking) {
    const auto d = design(300);
    const auto one = scx::simulate_counts(d, 0, 300, 1);
    const auto two = scx::simulate_counts(d, 0, 300, 2);
    EXPECT_TRUE(same(one, two));
    const auto blocked = vstack2(scx::simulate_counts(d, 0, 77, 2), scx::simulate_counts(d, 77, 300, 1));
    EXPECT_TRUE(same(one, blocked));
    const auto again = scx::simulate_counts(design(300), 0, 300, 2); // a fresh design from the same seed
    EXPECT_TRUE(same(one, again));
    EXPECT_FALSE(same(one, scx::simulate_counts(design(300, false, 8), 0, 300, 2)));
    one.validate("simulated");
}

TEST(Simulator, ObsTellsTheTruth) {
    const auto d = design(2000);
    std::vector<scx::SimulatedCell> cells;
    const auto m = scx::simulate_counts(d, 0, 2000, 2, &cells);
    ASSERT_EQ(cells.size(), 2000U);
    const auto& stages = d.ruler.stages;
    std::vector<double> libs;
    for (std::int64_t i = 0; i < 2000; ++i) {
        const auto& c = cells[i];
        EXPECT_EQ(d.parent[c.child], c.parent);
        EXPECT_EQ(stages[c.child].depth, stages[c.parent].depth + 1);
        EXPECT_EQ(c.stage, c.t < 0.5 ? c.parent : c.child);
        EXPECT_GE(c.progress, static_cast<double>(stages[c.parent].depth));
        EXPECT_LT(c.progress, static_cast<double>(stages[c.parent].depth) + 1.0);
        const auto row = m.row_values(i);
        libs.push_back(std::accumulate(row.begin(), row.end(), 0.0) / c.library_size);
        EXPECT_EQ(scx::place_cell(d, i).stage, c.stage); // placement alone gives the same cell
    }
    std::sort(libs.begin(), libs.end());
    EXPECT_NEAR(libs[1000], 1.0, 0.1); // counts follow the drawn library size
}

/// Mean counts of @p gene in cells of @p stage and in all others.
std::pair<double, double> marker_means(const scx::SimulationDesign& d, const scx::CsrMatrix& m,
                                       const std::vector<scx::SimulatedCell>& cells, const std::string& gene,
                                       const std::string& stage) {
    std::int64_t g = -1;
    for (std::size_t k = 0; k < d.genes.size(); ++k)
        if (d.genes[k].symbol == gene) g = static_cast<std::int64_t>(k);
    EXPECT_GE(g, 0) << gene;
    const auto s = d.ruler.stage_index(stage);
    double in = 0, out = 0;
    std::int64_t n_in = 0, n_out = 0;
    for (std::int64_t i = 0; i < m.n_rows; ++i) {
        double v = 0;
        const auto idx = m.row_indices(i);
        const auto val = m.row_values(i);
        for (std::size_t k = 0; k < idx.size(); ++k)
            if (idx[k] == g) v = val[k];
        (cells[i].stage == s ? in : out) += v;
        ++(cells[i].stage == s ? n_in : n_out);
    }
    return {in / std::max<std::int64_t>(n_in, 1), out / std::max<std::int64_t>(n_out, 1)};
}

TEST(Simulator, KnownMarkersMarkTheirStages) {
    const auto d = design(4000);
    std::vector<scx::SimulatedCell> cells;
    const auto m = scx::simulate_counts(d, 0, 4000, 2, &cells);
    for (const auto& [gene, stage] : std::vector<std::pair<std::string, std::string>>{
             {"CD34", "HSC"}, {"HBB", "erythrocyte"}, {"CD14", "classical_monocyte"}, {"MS4A1", "naive_B"},
             {"NKG7", "NK"}, {"JCHAIN", "plasma_cell"}, {"CD8A", "memory_CD8_T"}}) {
        const auto [in, out] = marker_means(d, m, cells, gene, stage);
        EXPECT_GT(in, 3.0 * out) << gene << " in " << stage << ": " << in << " vs " << out;
    }
    // every gene is a real vocabulary symbol, each once
    std::map<std::string, int> seen;
    for (const auto& g : d.genes) EXPECT_EQ(++seen[g.symbol], 1) << g.symbol;
    EXPECT_EQ(d.genes.size(), 1000U);
}

/// Nearest-centroid stage accuracy on log1p(normalised) counts: centroids from even
/// cells, scored on odd cells. Chance is about 1/35.
double stage_accuracy(const scx::SimulationDesign& d, std::int64_t n) {
    std::vector<scx::SimulatedCell> cells;
    const auto m = scx::simulate_counts(d, 0, n, 2, &cells);
    const auto S = static_cast<std::int64_t>(d.ruler.stages.size()), G = m.n_cols;
    const auto dense_row = [&](std::int64_t i) {
        std::vector<double> x(G, 0.0);
        const auto idx = m.row_indices(i);
        const auto val = m.row_values(i);
        const double total = std::accumulate(val.begin(), val.end(), 0.0);
        for (std::size_t k = 0; k < idx.size(); ++k) x[idx[k]] = std::log1p(1e4 * val[k] / total);
        return x;
    };
    std::vector<std::vector<double>> centroid(S, std::vector<double>(G, 0.0));
    std::vector<double> count(S, 0.0);
    for (std::int64_t i = 0; i < n; i += 2) {
        const auto x = dense_row(i);
        for (std::int64_t g = 0; g < G; ++g) centroid[cells[i].stage][g] += x[g];
        ++count[cells[i].stage];
    }
    for (std::int64_t s = 0; s < S; ++s)
        for (auto& v : centroid[s]) v /= std::max(count[s], 1.0);
    std::int64_t right = 0, total = 0;
    for (std::int64_t i = 1; i < n; i += 2) {
        const auto x = dense_row(i);
        std::int64_t best = -1;
        double best_d = INFINITY;
        for (std::int64_t s = 0; s < S; ++s) {
            if (count[s] == 0) continue;
            double dist = 0;
            for (std::int64_t g = 0; g < G; ++g) dist += (x[g] - centroid[s][g]) * (x[g] - centroid[s][g]);
            if (dist < best_d) best_d = dist, best = s;
        }
        right += best == cells[i].stage;
        ++total;
    }
    return static_cast<double>(right) / static_cast<double>(total);
}

TEST(Simulator, NullModelLabelsCarryNoInformation) {
    const double real = stage_accuracy(design(3000), 3000);
    const double null = stage_accuracy(design(3000, true), 3000);
    std::cout << "nearest-centroid stage accuracy: simulation " << real << ", null " << null << " (chance ~0.03)\n";
    EXPECT_GT(real, 0.5);
    EXPECT_LT(null, 0.12);
}

/// Spearman-free check of the continuum: along HSC -> MPP edges, the MPP program's share
/// rises with t in the simulation and not in the null.
double program_trend(bool null_model) {
    const auto d = design(6000, null_model);
    std::vector<scx::SimulatedCell> cells;
    const auto m = scx::simulate_counts(d, 0, 6000, 2, &cells);
    std::vector<std::int64_t> mpp_genes;
    for (const auto& [name, members] : d.programs)
        if (name == "stage:MPP") mpp_genes = members;
    std::vector<bool> in_program(m.n_cols, false);
    for (auto g : mpp_genes) in_program[g] = true;
    const auto mpp = d.ruler.stage_index("MPP");
    std::vector<std::pair<double, double>> points; // (t, share of the MPP program)
    for (std::int64_t i = 0; i < m.n_rows; ++i) {
        if (cells[i].child != mpp) continue;
        const auto idx = m.row_indices(i);
        const auto val = m.row_values(i);
        double prog = 0, total = 0;
        for (std::size_t k = 0; k < idx.size(); ++k) {
            total += val[k];
            if (in_program[idx[k]]) prog += val[k];
        }
        points.emplace_back(cells[i].t, prog / total);
    }
    // Pearson correlation of t with the share
    double mt = 0, ms = 0;
    for (auto [t, s] : points) mt += t, ms += s;
    mt /= points.size(), ms /= points.size();
    double c = 0, vt = 0, vs = 0;
    for (auto [t, s] : points) c += (t - mt) * (s - ms), vt += (t - mt) * (t - mt), vs += (s - ms) * (s - ms);
    return c / std::sqrt(vt * vs);
}

TEST(Simulator, ExpressionMovesAlongEdgesOnlyWithoutTheNull) {
    const double real = program_trend(false), null = program_trend(true);
    std::cout << "corr(t, MPP program share) on HSC->MPP edges: simulation " << real << ", null " << null << "\n";
    EXPECT_GT(real, 0.3);
    EXPECT_LT(std::abs(null), 0.2);
}

TEST(Simulator, DonorsDiffer) {
    const auto d = design(4000);
    std::vector<scx::SimulatedCell> cells;
    (void)scx::simulate_counts(d, 0, 4000, 2, &cells);
    // composition: the share of progenitor stages (depth <= 2) differs between donors and tissues
    std::map<std::pair<std::int64_t, std::int64_t>, std::pair<double, double>> share;
    for (const auto& c : cells) {
        auto& [prog, all] = share[{c.donor, c.tissue}];
        prog += d.ruler.stages[c.stage].depth <= 2;
        ++all;
    }
    double bm = 0, blood = 0;
    for (const auto& [key, v] : share) (key.second == 0 ? bm : blood) += v.first / v.second / 4.0;
    EXPECT_GT(bm, blood * 1.3) << "bone marrow should hold more progenitors than blood";
    // gene effects are per donor
    EXPECT_NE(d.donor_gene_effect[0], d.donor_gene_effect[1]);
    EXPECT_EQ(d.donors.size(), 4U);
}

TEST(Simulator, RefusesWhatItCannotSimulate) {
    scx::SimulationOptions o;
    o.n_genes = 100; // fewer than the programs need
    try {
        (void)scx::design_simulation(scx::default_hematopoiesis_ruler(), vocabulary(), o);
        ADD_FAILURE() << "expected an error";
    } catch (const scx::Error& e) {
        EXPECT_NE(std::string(e.what()).find("need at least"), std::string::npos) << e.what();
    }
    auto broken = scx::default_hematopoiesis_ruler();
    broken.edges.pop_back(); // NK disconnected
    EXPECT_THROW((void)scx::design_simulation(broken, vocabulary(), {}), scx::Error);
    auto matrix = scx::default_hematopoiesis_ruler();
    matrix.explicit_distances = scx::ruler_distances(matrix);
    EXPECT_THROW((void)scx::design_simulation(matrix, vocabulary(), {}), scx::Error);
    o.n_genes = 1000;
    o.n_donors = 0;
    EXPECT_THROW((void)scx::design_simulation(scx::default_hematopoiesis_ruler(), vocabulary(), o), scx::Error);
    const auto d = design(10);
    EXPECT_THROW((void)scx::simulate_counts(d, 5, 11, 1), scx::Error);
}

} // namespace

namespace {

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ULL;
    return h;
}

/// Checksum of the default simulation's first 300 cells: genes, counts and placements.
std::uint64_t default_checksum() {
    scx::SimulationOptions o; // every default, only the cell count small
    o.n_cells = 300;
    const auto d = scx::design_simulation(scx::default_hematopoiesis_ruler(), vocabulary(), o);
    std::vector<scx::SimulatedCell> cells;
    const auto m = scx::simulate_counts(d, 0, o.n_cells, 2, &cells);
    std::uint64_t h = 0xCBF29CE484222325ULL;
    for (const auto& g : d.genes) h = fnv1a(h, g.symbol.data(), g.symbol.size());
    h = fnv1a(h, m.indptr.data(), m.indptr.size() * sizeof(std::int64_t));
    h = fnv1a(h, m.indices.data(), m.indices.size() * sizeof(std::int32_t));
    h = fnv1a(h, m.values.data(), m.values.size() * sizeof(float));
    for (const auto& c : cells) {
        h = fnv1a(h, &c.donor, sizeof c.donor);
        h = fnv1a(h, &c.tissue, sizeof c.tissue);
        h = fnv1a(h, &c.child, sizeof c.child);
        h = fnv1a(h, &c.t, sizeof c.t);
    }
    return h;
}

} // namespace

// The simulator's defaults are frozen: results measured on the test bed must not be
// tunable by quietly changing the simulator. A deliberate change of the model updates this
// value in the same commit, with the reason. (Computed with GCC 12 / glibc on x86-64; the
// draws use exp, log, lgamma, sin and cos, so another libm may differ in the last bits.)
TEST(Simulator, DefaultsAreFrozen) {
    EXPECT_EQ(default_checksum(), 7113609123337651271ULL) << "simulator output changed";
}
