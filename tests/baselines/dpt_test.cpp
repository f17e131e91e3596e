// scanpy's DPT workflow piece by piece against scanpy 1.11.5 / umap-learn 0.5.12 on the same
// input (tests/fixtures/dpt, written by tests/fixtures/eval/make_dpt_fixtures.py): the exact
// kNN, umap and gauss connectivities, the diffusion eigenvalues and components, and the
// pseudotime, on a branching trajectory and on a graph with two components.
#include "scextract/baselines/diffusion_pseudotime.hpp"

#include "scextract/stats/statistics.hpp"
#include "scextract/io/npy.hpp"

#include "../support/error_of.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace scx {
namespace {

const std::filesystem::path kDir = std::filesystem::path(SCX_SOURCE_DIR) / "tests/fixtures/dpt";

NpyArray fixture(const std::string& name) { return read_npy(kDir / name); }

/// scanpy's CSR connectivities (indptr / indices / data files with @p prefix) as a sparse matrix.
SparseMatrixD reference_csr(const std::string& prefix, std::int64_t n) {
    const auto indptr = fixture(prefix + "_indptr.npy").to_int64();
    const auto indices = fixture(prefix + "_indices.npy").to_int64();
    const auto data = fixture(prefix + "_data.npy").to_double();
    std::vector<Eigen::Triplet<double>> t;
    for (std::int64_t r = 0; r < n; ++r)
        for (auto k = indptr[static_cast<std::size_t>(r)]; k < indptr[static_cast<std::size_t>(r + 1)]; ++k)
            t.emplace_back(static_cast<int>(r), static_cast<int>(indices[static_cast<std::size_t>(k)]),
                           data[static_cast<std::size_t>(k)]);
    SparseMatrixD m(n, n);
    m.setFromTriplets(t.begin(), t.end());
    return m;
}

/// Largest |a - b| over the union of both patterns, and whether the patterns agree.
std::pair<double, bool> compare_sparse(const SparseMatrixD& a, const SparseMatrixD& b) {
    const Eigen::MatrixXd da(a), db(b);
    const bool same_pattern = ((da.array() != 0.0) == (db.array() != 0.0)).all();
    return {(da - db).cwiseAbs().maxCoeff(), same_pattern};
}

struct Case {
    std::string name;
    RowMatrixF x;
    std::int64_t root;
};

Case load_case(const std::string& name) {
    return {name, fixture(name + "_X.npy").to_matrix(), fixture(name + "_root.npy").to_int64().at(0)};
}

/// scanpy's kNN graph (the cell itself first, then its 14 neighbours), to test each later
/// piece on exactly scanpy's input.
KnnGraph reference_knn(const std::string& name) {
    const auto index = fixture(name + "_knn_index.npy").to_int64();
    const auto dist = fixture(name + "_knn_dist.npy").to_double();
    const auto n = static_cast<Eigen::Index>(index.size() / 14);
    KnnGraph g;
    g.index.resize(n, 15);
    g.distance.resize(n, 15);
    for (Eigen::Index i = 0; i < n; ++i) {
        g.index(i, 0) = i;
        g.distance(i, 0) = 0.0;
        for (Eigen::Index j = 0; j < 14; ++j) {
            g.index(i, j + 1) = index[static_cast<std::size_t>(i * 14 + j)];
            g.distance(i, j + 1) = dist[static_cast<std::size_t>(i * 14 + j)];
        }
    }
    return g;
}

void check_against_scanpy(const std::string& name) {
    SCOPED_TRACE(name);
    const auto c = load_case(name);
    const auto n = c.x.rows();
    const auto r = scanpy_dpt(c.x, c.root);
    ASSERT_FALSE(r.knn.approximate) << "below 8192 cells scanpy's kNN is exact";

    // kNN: the same 14 other neighbours (as sets; order may differ at float32 ties) and distances
    const auto ref_index = fixture(name + "_knn_index.npy").to_int64();
    const auto ref_dist = fixture(name + "_knn_dist.npy").to_double();
    std::int64_t same_sets = 0;
    double worst_distance = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
        std::vector<std::int64_t> ours(r.knn.index.row(i).begin() + 1, r.knn.index.row(i).end());
        std::vector<std::int64_t> theirs(ref_index.begin() + i * 14, ref_index.begin() + (i + 1) * 14);
        std::sort(ours.begin(), ours.end());
        std::sort(theirs.begin(), theirs.end());
        same_sets += ours == theirs;
        for (int j = 0; j < 14; ++j)
            worst_distance = std::max(worst_distance, std::fabs(r.knn.distance(i, j + 1) - ref_dist[static_cast<std::size_t>(i * 14 + j)]));
    }
    EXPECT_EQ(same_sets, n);
    EXPECT_LT(worst_distance, 1e-4); // scanpy's PCA is float32

    // piece by piece on scanpy's own input: connectivities from its kNN, eigenpairs from its
    // connectivities, pseudotime from its diffusion map
    const auto knn = reference_knn(name);
    const auto conn = reference_csr(name + "_conn", n);
    const auto [conn_error, conn_pattern] = compare_sparse(umap_connectivities(knn), conn);
    EXPECT_TRUE(conn_pattern);
    EXPECT_LT(conn_error, 1e-5);
    ::testing::Test::RecordProperty(name + "_umap_connectivity_error", fmt::format("{:.3g}", conn_error));
    const auto evals = fixture(name + "_evals.npy").to_double();
    const auto diffmap = fixture(name + "_diffmap.npy").to_matrix();
    const auto map = diffusion_map(conn);
    ASSERT_EQ(map.eigenvalues.size(), static_cast<Eigen::Index>(evals.size()));
    for (std::size_t l = 0; l < evals.size(); ++l) EXPECT_NEAR(map.eigenvalues(static_cast<Eigen::Index>(l)), evals[l], 1e-5) << l;
    for (Eigen::Index l = 0; l < diffmap.cols(); ++l) { // up to sign where the eigenvalue is simple
        const double lambda = map.eigenvalues(l);
        const bool simple = (l == 0 || std::fabs(map.eigenvalues(l - 1) - lambda) > 1e-3) &&
                            (l + 1 == diffmap.cols() || std::fabs(map.eigenvalues(l + 1) - lambda) > 1e-3);
        if (!simple) continue;
        const Eigen::VectorXd ours = map.eigenvectors.col(l), theirs = diffmap.col(l).cast<double>();
        const double err = std::min((ours - theirs).cwiseAbs().maxCoeff(), (ours + theirs).cwiseAbs().maxCoeff());
        EXPECT_LT(err, 1e-5) << "component " << l;
    }
    const auto dpt = fixture(name + "_dpt.npy").to_double();
    DiffusionMapResult theirs_map = map;
    theirs_map.eigenvalues = Eigen::Map<const Eigen::VectorXd>(evals.data(), static_cast<Eigen::Index>(evals.size()));
    theirs_map.eigenvectors = diffmap.cast<double>();
    const auto from_their_map = diffusion_pseudotime(theirs_map, c.root);
    for (Eigen::Index i = 0; i < n; ++i)
        if (std::isfinite(dpt[static_cast<std::size_t>(i)])) EXPECT_NEAR(from_their_map(i), dpt[static_cast<std::size_t>(i)], 1e-5) << i;

    // end to end from X: our PCA is in double, scanpy's in float32, so the distances differ
    // by up to 1e-4 and the connectivities by a few 1e-5
    const auto [e2e_error, e2e_pattern] = compare_sparse(r.connectivities, conn);
    EXPECT_TRUE(e2e_pattern);
    EXPECT_LT(e2e_error, 1e-4);
    for (std::size_t l = 0; l < evals.size(); ++l) EXPECT_NEAR(r.diffmap.eigenvalues(static_cast<Eigen::Index>(l)), evals[l], 1e-4) << l;

    // pseudotime: +inf on the same cells, Spearman >= 0.999 and close values on the rest
    std::vector<double> ours, theirs;
    for (Eigen::Index i = 0; i < n; ++i) {
        ASSERT_EQ(std::isinf(r.pseudotime(i)), std::isinf(dpt[static_cast<std::size_t>(i)])) << i;
        if (std::isinf(dpt[static_cast<std::size_t>(i)])) continue;
        ours.push_back(r.pseudotime(i));
        theirs.push_back(dpt[static_cast<std::size_t>(i)]);
        EXPECT_NEAR(ours.back(), theirs.back(), 1e-3) << i;
    }
    const double rho = spearman(ours, theirs);
    EXPECT_GE(rho, 0.999);
    ::testing::Test::RecordProperty(name + "_end_to_end_spearman", fmt::format("{:.9f}", rho));
    ::testing::Test::RecordProperty(name + "_end_to_end_connectivity_error", fmt::format("{:.3g}", e2e_error));

    // the gauss kernel, on scanpy's kNN and end to end
    const auto gauss_conn = reference_csr(name + "_gauss_conn", n);
    const auto [gauss_error, gauss_pattern] = compare_sparse(gauss_connectivities(knn), gauss_conn);
    EXPECT_TRUE(gauss_pattern);
    EXPECT_LT(gauss_error, 1e-5);
    ::testing::Test::RecordProperty(name + "_gauss_connectivity_error", fmt::format("{:.3g}", gauss_error));
    const auto gauss_evals = fixture(name + "_gauss_evals.npy").to_double();
    const auto gauss_map = diffusion_map(gauss_conn);
    for (std::size_t l = 0; l < gauss_evals.size(); ++l)
        EXPECT_NEAR(gauss_map.eigenvalues(static_cast<Eigen::Index>(l)), gauss_evals[l], 1e-5) << l;
    ScanpyDptOptions gauss;
    gauss.kernel = ConnectivityKernel::gauss;
    const auto g = scanpy_dpt(c.x, c.root, gauss);
    EXPECT_LT(compare_sparse(g.connectivities, gauss_conn).first, 1e-4);
}

TEST(Dpt, MatchesScanpyOnABranchingTrajectory) { check_against_scanpy("branching"); }

TEST(Dpt, MatchesScanpyOnTwoComponents) {
    check_against_scanpy("split");
    const auto c = load_case("split");
    const auto r = scanpy_dpt(c.x, c.root);
    EXPECT_EQ(r.diffmap.n_graph_components, 2);
    EXPECT_NEAR(r.diffmap.eigenvalues(1), 1.0, 1e-12); // eigenvalue 1 once per component
}

TEST(Dpt, ResultsDoNotDependOnTheThreadCount) {
    const auto c = load_case("branching");
    ScanpyDptOptions one, two;
    one.threads = 1;
    two.threads = 2;
    const auto a = scanpy_dpt(c.x, c.root, one), b = scanpy_dpt(c.x, c.root, two);
    EXPECT_EQ(a.knn.index, b.knn.index);
    EXPECT_TRUE(a.pseudotime.cwiseEqual(b.pseudotime).all());
}

TEST(Dpt, ApproximateNeighboursAgreeWithExactOnes) {
    const auto c = load_case("branching");
    KnnSearchOptions exact, hnsw;
    exact.algorithm = KnnAlgorithm::exact;
    hnsw.algorithm = KnnAlgorithm::hnsw;
    const auto a = find_nearest_neighbors(c.x, exact), b = find_nearest_neighbors(c.x, hnsw);
    EXPECT_FALSE(a.approximate);
    EXPECT_TRUE(b.approximate);
    std::int64_t hits = 0;
    for (Eigen::Index i = 0; i < a.index.rows(); ++i) {
        EXPECT_EQ(b.index(i, 0), i);
        for (Eigen::Index j = 1; j < a.index.cols(); ++j)
            hits += (b.index.row(i).array() == a.index(i, j)).any();
    }
    EXPECT_GE(static_cast<double>(hits) / static_cast<double>(a.index.rows() * (a.index.cols() - 1)), 0.99);
    hnsw.threads = 1;
    const auto b1 = find_nearest_neighbors(c.x, hnsw);
    hnsw.threads = 2;
    EXPECT_EQ(b1.index, find_nearest_neighbors(c.x, hnsw).index);
}

TEST(Dpt, RefusesBadInput) {
    const auto c = load_case("branching");
    EXPECT_NE(test::error_of([&] { (void)scanpy_dpt(c.x, c.x.rows()); }).find("root cell 480 is not among the 480 cells"),
              std::string::npos);
    const RowMatrixF few = c.x.topRows(10);
    EXPECT_NE(test::error_of([&] { (void)scanpy_dpt(few, 0); }).find("10 cells, more than n_neighbors = 15 needed"),
              std::string::npos);
    RowMatrixF bad = c.x;
    bad(3, 3) = std::nanf("");
    EXPECT_NE(test::error_of([&] { (void)find_nearest_neighbors(bad); }).find("NaN"), std::string::npos);
}

} // namespace
} // namespace scx
