#include "scextract/preprocess/hvg.hpp"

#include "fixture_files.hpp"
#include "scextract/core/error.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace scx {
namespace {

// |a - b| <= rel * max(|a|, |b|) + abs; NaN only matches NaN.
bool close(double a, double b, double rel, double abs = 0.0) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b)) + abs;
}

double rel_err(double a, double b) {
    if (std::isnan(a) && std::isnan(b)) return 0.0;
    const double s = std::max(std::abs(a), std::abs(b));
    return s == 0.0 ? 0.0 : std::abs(a - b) / s;
}

struct Reference {
    test::Csv csv;
    std::vector<std::int64_t> index;
    std::vector<std::string> genes;
};

Reference load_reference(const std::string& name) {
    Reference r{test::read_csv(test::fixture_dir() / name), {}, {}};
    r.index = r.csv.ints("index");
    r.genes = r.csv.strings("gene");
    return r;
}

// Selected genes that differ from scanpy's; each must be in an exact tie with the
// boundary gene (scanpy breaks exact ties with numpy's unstable argsort).
void expect_same_selection(const HvgResult& res, const Reference& ref, const std::string& hv_column,
                           const std::vector<double>& score, std::int64_t n_genes_total,
                           std::int64_t* n_differ = nullptr) {
    const auto hv = ref.csv.ints(hv_column);
    std::set<std::int64_t> ours, theirs;
    for (std::int64_t g = 0; g < n_genes_total; ++g)
        if (res.highly_variable[g]) ours.insert(g);
    for (std::size_t i = 0; i < hv.size(); ++i)
        if (hv[i]) theirs.insert(ref.index[i]);
    ASSERT_EQ(ours.size(), theirs.size()) << hv_column;
    double boundary = std::numeric_limits<double>::infinity();
    for (auto g : ours) boundary = std::min(boundary, score[g]);
    std::int64_t differ = 0;
    for (auto g : ours)
        if (!theirs.count(g)) {
            ++differ;
            EXPECT_EQ(score[g], boundary) << hv_column << ": gene " << g << " selected here but not by scanpy";
        }
    for (auto g : theirs) {
        if (!ours.count(g)) {
            EXPECT_EQ(score[g], boundary) << hv_column << ": gene " << g << " selected by scanpy only";
        }
    }
    if (n_differ) *n_differ = differ;
}

struct V3Case {
    std::string key;
    std::vector<std::int64_t> n_tops;
    /// n_top_genes -> selected genes that differ from default scanpy because of an
    /// exact tie at the selection boundary (0 where absent).
    std::map<std::int64_t, std::int64_t> boundary_tie_differences = {};
};

void check_seurat_v3(const CsrMatrix& counts, const V3Case& c, bool full_fixture) {
    const auto ref = load_reference(c.key + "_hvg_seurat_v3.csv");
    if (full_fixture) {
        ASSERT_EQ(static_cast<std::int64_t>(ref.index.size()), counts.n_cols);
    }
    const auto means = ref.csv.doubles("means"), vars = ref.csv.doubles("variances"),
               vnorm = ref.csv.doubles("variances_norm");
    double worst_mean = 0, worst_var = 0, worst_norm = 0;
    for (const auto n : c.n_tops) {
        HvgOptions opt;
        opt.flavor = HvgFlavor::seurat_v3;
        opt.n_top_genes = n;
        const auto res = highly_variable_genes(counts, opt);
        const auto rank = ref.csv.doubles("rank_" + std::to_string(n));
        const auto rank_stable = ref.csv.doubles("rank_stable_" + std::to_string(n));
        const auto hv_stable = ref.csv.ints("hv_stable_" + std::to_string(n));
        for (std::size_t i = 0; i < ref.index.size(); ++i) {
            const auto g = ref.index[i];
            worst_mean = std::max(worst_mean, rel_err(res.means[g], means[i]));
            worst_var = std::max(worst_var, rel_err(res.variances[g], vars[i]));
            worst_norm = std::max(worst_norm, rel_err(res.variances_norm[g], vnorm[i]));
            EXPECT_TRUE(close(res.variances_norm[g], vnorm[i], 1e-9)) << c.key << " " << ref.genes[i];
            // scanpy's own code run with a stable argsort (ties by gene index) gives our ranks exactly.
            EXPECT_TRUE(close(res.highly_variable_rank[g], rank_stable[i], 0.0))
                << c.key << " n=" << n << " " << ref.genes[i] << ": " << res.highly_variable_rank[g] << " vs "
                << rank_stable[i];
            EXPECT_EQ(res.highly_variable[g], hv_stable[i]) << c.key << " n=" << n << " " << ref.genes[i];
            // A rank may differ only inside a group of exactly tied genes.
            if (res.highly_variable_rank[g] != rank[i] && !std::isnan(rank[i])) {
                const auto r = static_cast<std::size_t>(rank[i]);
                ASSERT_LT(r, res.selected.size());
                EXPECT_EQ(res.variances_norm[res.selected[r]], res.variances_norm[g])
                    << c.key << " n=" << n << " " << ref.genes[i] << ": rank " << res.highly_variable_rank[g]
                    << " vs scanpy " << rank[i];
            }
        }
        std::int64_t differ = 0;
        expect_same_selection(res, ref, "hv_" + std::to_string(n), res.variances_norm, counts.n_cols, &differ);
        const auto tie = c.boundary_tie_differences.find(n);
        EXPECT_EQ(differ, tie == c.boundary_tie_differences.end() ? 0 : tie->second) << c.key << " n=" << n;
        ::testing::Test::RecordProperty(c.key + "_v3_" + std::to_string(n) + "_genes_differing_by_tie",
                                        std::to_string(differ));
    }
    EXPECT_LE(worst_mean, 1e-15);
    EXPECT_LE(worst_var, 1e-15);
    ::testing::Test::RecordProperty(c.key + "_v3_max_rel_err_variances_norm", test::sci(worst_norm));
    ::testing::Test::RecordProperty(c.key + "_v3_max_rel_err_means_variances",
                                    test::sci(std::max(worst_mean, worst_var)));
}

void check_seurat(const CsrMatrix& counts, const V3Case& c, bool full_fixture) {
    const auto ref = load_reference(c.key + "_hvg_seurat.csv");
    if (full_fixture) {
        ASSERT_EQ(static_cast<std::int64_t>(ref.index.size()), counts.n_cols);
    }
    CsrMatrix logged = counts;
    log_normalize_rows_in_place(logged, 1e4);
    const auto means = ref.csv.doubles("means"), disp = ref.csv.doubles("dispersions"),
               dnorm = ref.csv.doubles("dispersions_norm");
    for (const auto n : c.n_tops) {
        HvgOptions opt;
        opt.flavor = HvgFlavor::seurat;
        opt.n_top_genes = n;
        const auto res = highly_variable_genes(logged, opt);
        double worst = 0, worst_mean = 0, worst_disp = 0;
        for (std::size_t i = 0; i < ref.index.size(); ++i) {
            const auto g = ref.index[i];
            worst_mean = std::max(worst_mean, rel_err(res.means[g], means[i]));
            worst_disp = std::max(worst_disp, rel_err(res.dispersions[g], disp[i]));
            EXPECT_TRUE(close(res.means[g], means[i], 1e-12)) << ref.genes[i];
            EXPECT_TRUE(close(res.dispersions[g], disp[i], 1e-12, 1e-13)) << ref.genes[i];
            EXPECT_TRUE(close(res.dispersions_norm[g], dnorm[i], 1e-9, 1e-11)) << ref.genes[i];
            worst = std::max(worst, std::abs(res.dispersions_norm[g] - dnorm[i]));
        }
        std::int64_t differ = 0;
        expect_same_selection(res, ref, "hv_" + std::to_string(n), res.dispersions_norm, counts.n_cols, &differ);
        EXPECT_EQ(differ, 0) << "seurat n=" << n;
        EXPECT_EQ(static_cast<std::int64_t>(res.selected.size()), n);
        ::testing::Test::RecordProperty(c.key + "_seurat_max_abs_err_dispersions_norm", test::sci(worst));
        ::testing::Test::RecordProperty(c.key + "_seurat_max_rel_err_means", test::sci(worst_mean));
        ::testing::Test::RecordProperty(c.key + "_seurat_max_rel_err_dispersions", test::sci(worst_disp));
    }
}

class HvgPermissive : public ::testing::TestWithParam<V3Case> {};

TEST_P(HvgPermissive, SeuratV3MatchesScanpy) {
    const auto counts = test::read_counts_csr(test::fixture_dir() / (GetParam().key + "_counts.scxcsr"));
    check_seurat_v3(counts, GetParam(), true);
}

TEST_P(HvgPermissive, SeuratMatchesScanpy) {
    const auto counts = test::read_counts_csr(test::fixture_dir() / (GetParam().key + "_counts.scxcsr"));
    check_seurat(counts, GetParam(), true);
}

INSTANTIATE_TEST_SUITE_P(RealData, HvgPermissive,
                         ::testing::Values(V3Case{"pbmc68k", {200, 500}}, V3Case{"clustifyr", {200, 1000}}),
                         [](const auto& info) { return info.param.key; });

// soupx_pbmc4k is GPL-2: it is read from the shared data folder, never committed.
class HvgSoupx : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        const auto dir = test::shared_data_dir() / "soupx_pbmc4k/filtered_feature_bc_matrix";
        if (!std::filesystem::exists(dir / "matrix.mtx.gz")) {
            skip_reason_ = "soupx_pbmc4k not found at " + dir.string() + " (GPL data, kept outside the repository)";
            return;
        }
        data_ = std::make_unique<test::TenxMatrix>();
        if (!test::read_tenx_mtx(dir, *data_, skip_reason_)) data_.reset();
    }
    static void TearDownTestSuite() { data_.reset(); }
    void SetUp() override {
        if (!data_) GTEST_SKIP() << skip_reason_;
    }
    static std::unique_ptr<test::TenxMatrix> data_;
    static std::string skip_reason_;
};
std::unique_ptr<test::TenxMatrix> HvgSoupx::data_;
std::string HvgSoupx::skip_reason_;

TEST_F(HvgSoupx, GeneOrderMatchesFixture) {
    const auto ref = load_reference("soupx_hvg_seurat_v3.csv");
    ASSERT_EQ(data_->cells_by_genes.n_rows, 2170);
    ASSERT_EQ(data_->cells_by_genes.n_cols, 33694);
    for (std::size_t i = 0; i < ref.index.size(); ++i) ASSERT_EQ(data_->symbols[ref.index[i]], ref.genes[i]);
}

TEST_F(HvgSoupx, SeuratV3MatchesScanpy) {
    // n=1000 ends inside a group of 44 genes with identical counts (four 1s and a 2):
    // scanpy's pick among them depends on numpy's sort; ours is the lowest index.
    check_seurat_v3(data_->cells_by_genes, {"soupx", {200, 500, 1000, 2000}, {{1000, 1}}}, false);
}

TEST_F(HvgSoupx, SeuratMatchesScanpy) {
    check_seurat(data_->cells_by_genes, {"soupx", {200, 500, 1000, 2000}}, false);
}

TEST(Hvg, SeuratV3WithBatchesMatchesScanpy) {
    const auto counts = test::read_counts_csr(test::fixture_dir() / "pbmc68k_counts.scxcsr");
    const auto phase = test::read_lines(test::fixture_dir() / "pbmc68k_phase.txt");
    ASSERT_EQ(static_cast<std::int64_t>(phase.size()), counts.n_rows);
    HvgOptions opt;
    opt.n_top_genes = 200;
    const std::vector<std::string> categories = {"G1", "G2M", "S"}; // sorted, as numpy.unique
    for (const auto& p : phase)
        opt.batches.push_back(
            static_cast<std::int32_t>(std::find(categories.begin(), categories.end(), p) - categories.begin()));
    const auto res = highly_variable_genes(counts, opt);

    const auto ref = load_reference("pbmc68k_hvg_seurat_v3_batch_phase.csv");
    const auto means = ref.csv.doubles("means"), vars = ref.csv.doubles("variances");
    const auto vnorm = ref.csv.doubles("variances_norm"), rank_stable = ref.csv.doubles("rank_stable");
    const auto nb = ref.csv.ints("nbatches"), hv = ref.csv.ints("hv_200");
    const auto nb_stable = ref.csv.ints("nbatches_stable"), hv_stable = ref.csv.ints("hv_stable_200");
    std::int64_t median_rank_differs = 0;
    const auto rank = ref.csv.doubles("rank");
    for (std::size_t g = 0; g < ref.index.size(); ++g) {
        EXPECT_EQ(res.means[g], means[g]) << ref.genes[g];
        EXPECT_TRUE(close(res.variances[g], vars[g], 1e-15)) << ref.genes[g];
        EXPECT_TRUE(close(res.variances_norm[g], vnorm[g], 1e-9)) << ref.genes[g];
        // Exact against scanpy with a stable argsort; default scanpy orders the many
        // exact ties of the 17-cell G2M batch differently, which moves median ranks
        // but (here) neither the batch counts nor the selection.
        EXPECT_TRUE(close(res.highly_variable_rank[g], rank_stable[g], 0.0)) << ref.genes[g];
        EXPECT_EQ(res.highly_variable_nbatches[g], nb_stable[g]) << ref.genes[g];
        EXPECT_EQ(res.highly_variable[g], hv_stable[g]) << ref.genes[g];
        EXPECT_EQ(res.highly_variable_nbatches[g], nb[g]) << ref.genes[g];
        EXPECT_EQ(res.highly_variable[g], hv[g]) << ref.genes[g];
        median_rank_differs += close(res.highly_variable_rank[g], rank[g], 0.0) ? 0 : 1;
    }
    ::testing::Test::RecordProperty("batch_median_ranks_differing_from_default_scanpy",
                                    std::to_string(median_rank_differs));
}

TEST(Hvg, SeuratCutoffsAndLogBaseMatchScanpy) {
    const auto counts = test::read_counts_csr(test::fixture_dir() / "pbmc68k_counts.scxcsr");
    const auto ref = load_reference("pbmc68k_hvg_seurat_variants.csv");
    CsrMatrix logged = counts;
    log_normalize_rows_in_place(logged, 1e4);

    HvgOptions opt;
    opt.flavor = HvgFlavor::seurat;
    opt.n_top_genes.reset(); // scanpy's default cutoffs
    const auto by_cutoff = highly_variable_genes(logged, opt);
    const auto hv_cut = ref.csv.ints("hv_cutoffs");
    for (std::size_t g = 0; g < hv_cut.size(); ++g) EXPECT_EQ(by_cutoff.highly_variable[g], hv_cut[g]) << ref.genes[g];

    // sc.pp.log1p(base=2) divides the float32 log1p by log(2) in float64.
    CsrMatrix log2 = counts;
    normalize_rows_in_place(log2, 1e4);
    for (float& v : log2.values) v = static_cast<float>(static_cast<double>(std::log1p(v)) / std::log(2.0));
    opt.n_top_genes = 200;
    opt.log1p_base = 2.0;
    const auto base2 = highly_variable_genes(log2, opt);
    const auto means = ref.csv.doubles("means_base2"), dnorm = ref.csv.doubles("dispersions_norm_base2");
    const auto hv = ref.csv.ints("hv_base2_200");
    for (std::size_t g = 0; g < hv.size(); ++g) {
        EXPECT_TRUE(close(base2.means[g], means[g], 1e-12)) << ref.genes[g];
        EXPECT_TRUE(close(base2.dispersions_norm[g], dnorm[g], 1e-9, 1e-11)) << ref.genes[g];
        EXPECT_EQ(base2.highly_variable[g], hv[g]) << ref.genes[g];
    }
}

TEST(Hvg, StreamingBlocksAndThreadsGiveTheSameBits) {
    const auto counts = test::read_counts_csr(test::fixture_dir() / "clustifyr_counts.scxcsr");
    CsrMatrix logged = counts;
    log_normalize_rows_in_place(logged, 1e4);
    for (const auto flavor : {HvgFlavor::seurat_v3, HvgFlavor::seurat}) {
        const CsrMatrix& x = flavor == HvgFlavor::seurat ? logged : counts;
        HvgOptions a, b;
        a.flavor = b.flavor = flavor;
        a.n_top_genes = b.n_top_genes = 500;
        a.threads = 1;
        b.threads = 2;
        b.block_rows = 100;
        InMemoryRowReader reader(x);
        const auto ra = highly_variable_genes(x, a);
        const auto rb = highly_variable_genes(reader, b);
        EXPECT_EQ(ra.means, rb.means);
        EXPECT_EQ(ra.variances_norm, rb.variances_norm);
        EXPECT_EQ(ra.dispersions_norm.size(), rb.dispersions_norm.size());
        for (std::size_t g = 0; g < ra.dispersions_norm.size(); ++g)
            EXPECT_TRUE(close(ra.dispersions_norm[g], rb.dispersions_norm[g], 0.0));
        EXPECT_EQ(ra.selected, rb.selected);
    }
}

TEST(Hvg, SeuratCutoffModeAndSingleGeneBins) {
    // Three genes; gene 2 alone in the top mean bin gets a normalised dispersion of 1.
    const std::vector<float> dense = {0.5f, 1.0f, 6.0f, 1.5f, 0.2f, 7.0f, 0.1f, 2.0f, 6.5f, 0.7f, 0.3f, 8.0f};
    const CsrMatrix x = csr_from_dense(dense, 4, 3);
    HvgOptions opt;
    opt.flavor = HvgFlavor::seurat;
    opt.n_top_genes.reset();
    const auto res = highly_variable_genes(x, opt);
    EXPECT_DOUBLE_EQ(res.dispersions_norm[2], 1.0);
    EXPECT_EQ(res.highly_variable[2], 0); // mean above max_mean 3
    opt.n_top_genes = 1;
    const auto top = highly_variable_genes(x, opt);
    ASSERT_EQ(top.selected.size(), 1U);
}

TEST(Hvg, RejectsBadOptions) {
    const auto counts = test::read_counts_csr(test::fixture_dir() / "pbmc68k_counts.scxcsr");
    HvgOptions opt;
    opt.n_top_genes = 0;
    EXPECT_THROW(highly_variable_genes(counts, opt), Error);
    opt.n_top_genes = 10;
    opt.batches = {0, 1};
    EXPECT_THROW(highly_variable_genes(counts, opt), Error); // wrong length
    opt.batches.assign(static_cast<std::size_t>(counts.n_rows), 0);
    opt.batches[5] = 1; // a batch of one cell
    EXPECT_THROW(highly_variable_genes(counts, opt), Error);
    opt.flavor = HvgFlavor::seurat;
    EXPECT_THROW(highly_variable_genes(counts, opt), Error); // batches not for seurat
}

} // namespace
} // namespace scx
