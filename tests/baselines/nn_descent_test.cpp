// NN-descent (issue 21): recall against brute force, the same graph for any thread count,
// well-formed lists and clear refusals; the exact k-d tree and GEMM-screened searches
// against brute force; and the diffusion map's parallel Lanczos product, against the dense
// eigensolver and across thread counts.
#include "scextract/baselines/diffusion_map.hpp"
#include "scextract/baselines/knn_search.hpp"
#include "scextract/baselines/neighbor_connectivities.hpp"
#include "scextract/baselines/nn_descent.hpp"

#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace scx {
namespace {

/// Cells along three noisy branches in @p dim dimensions: the shape DPT is run on.
RowMatrixF branching_cloud(std::int64_t n, std::int64_t dim, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> noise(0.0F, 0.15F);
    std::uniform_real_distribution<float> along(0.0F, 1.0F);
    RowMatrixF x(n, dim);
    for (std::int64_t i = 0; i < n; ++i) {
        const auto branch = i % 3;
        const float t = along(rng);
        for (std::int64_t d = 0; d < dim; ++d) x(i, d) = noise(rng);
        x(i, 0) += 3.0F * t;
        x(i, 1 + branch) += 2.0F * t * t;
    }
    return x;
}

/// Brute force: each cell's @p k nearest other cells, in double.
std::vector<std::vector<std::int64_t>> exact_neighbours(const RowMatrixF& x, std::int64_t k) {
    const RowMatrixD xd = x.cast<double>();
    std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(x.rows()));
    std::vector<std::pair<double, std::int64_t>> all;
    for (std::int64_t i = 0; i < x.rows(); ++i) {
        all.clear();
        for (std::int64_t j = 0; j < x.rows(); ++j)
            if (j != i) all.emplace_back((xd.row(i) - xd.row(j)).squaredNorm(), j);
        std::partial_sort(all.begin(), all.begin() + k, all.end());
        for (std::int64_t c = 0; c < k; ++c) out[static_cast<std::size_t>(i)].push_back(all[static_cast<std::size_t>(c)].second);
    }
    return out;
}

/// The exact search's graph at 1 and 2 threads equals brute force's (@p exact, 14 per cell).
void expect_exact_search_is_brute_force(const RowMatrixF& x, const std::vector<std::vector<std::int64_t>>& exact) {
    for (const int threads : {1, 2}) {
        const auto g = find_nearest_neighbors(x, {.algorithm = KnnAlgorithm::exact, .threads = threads});
        EXPECT_FALSE(g.approximate);
        for (std::int64_t i = 0; i < x.rows(); ++i) {
            ASSERT_EQ(g.index(i, 0), i);
            for (std::int64_t c = 0; c < 14; ++c)
                ASSERT_EQ(g.index(i, c + 1), exact[static_cast<std::size_t>(i)][static_cast<std::size_t>(c)]) << i << " " << c;
        }
    }
}

TEST(NnDescent, FindsNearlyAllExactNeighbours) {
    const RowMatrixF x = branching_cloud(3000, 12, 7);
    NnDescentOptions o;
    o.n_neighbors = 20;
    const auto r = nn_descent(x, o);
    const auto exact = exact_neighbours(x, 10);
    std::int64_t hits = 0;
    for (std::int64_t i = 0; i < x.rows(); ++i) {
        const std::set<std::int64_t> found(r.index.begin() + i * 20, r.index.begin() + i * 20 + 10);
        for (const auto j : exact[static_cast<std::size_t>(i)]) hits += found.count(j);
    }
    const double recall = static_cast<double>(hits) / (3000.0 * 10.0);
    EXPECT_GE(recall, 0.995) << "recall of the 10 nearest";
    ::testing::Test::RecordProperty("recall_of_10_nearest", std::to_string(recall));
    EXPECT_GE(r.rounds, 1);
    EXPECT_EQ(r.changes.size(), static_cast<std::size_t>(r.rounds));
}

TEST(NnDescent, ListsAreSortedFullAndHoldNeitherTheCellNorADuplicate) {
    const RowMatrixF x = branching_cloud(1500, 8, 3);
    const auto r = nn_descent(x, {.n_neighbors = 12});
    for (std::int64_t i = 0; i < x.rows(); ++i) {
        std::set<std::int32_t> seen;
        for (std::int64_t s = 0; s < 12; ++s) {
            const auto j = r.index[static_cast<std::size_t>(i * 12 + s)];
            ASSERT_GE(j, 0);
            ASSERT_LT(j, x.rows());
            EXPECT_NE(j, i);
            EXPECT_TRUE(seen.insert(j).second) << "cell " << i << " lists " << j << " twice";
            const float d = r.squared_distance[static_cast<std::size_t>(i * 12 + s)];
            EXPECT_FLOAT_EQ(d, (x.row(i) - x.row(j)).squaredNorm());
            if (s > 0) {
                EXPECT_LE(r.squared_distance[static_cast<std::size_t>(i * 12 + s - 1)], d);
            }
        }
    }
}

TEST(NnDescent, SameGraphForOneTwoAndThreeThreads) {
    const RowMatrixF x = branching_cloud(4000, 10, 11);
    NnDescentOptions o;
    o.n_neighbors = 16;
    o.seed = 5;
    o.threads = 1;
    const auto one = nn_descent(x, o);
    o.threads = 2;
    const auto two = nn_descent(x, o);
    o.threads = 3;
    const auto three = nn_descent(x, o);
    EXPECT_EQ(one.index, two.index);
    EXPECT_EQ(one.index, three.index);
    EXPECT_EQ(one.squared_distance, two.squared_distance);
    EXPECT_EQ(one.changes, three.changes);
    o.seed = 6; // another seed: another start, so another sequence of changes
    EXPECT_NE(nn_descent(x, o).changes, one.changes);
}

TEST(NnDescent, KnnSearchUsesItWhenAsked) {
    const RowMatrixF x = branching_cloud(2000, 10, 13);
    KnnSearchOptions exact, descent;
    exact.algorithm = KnnAlgorithm::exact;
    descent.algorithm = KnnAlgorithm::nn_descent;
    const auto a = find_nearest_neighbors(x, exact);
    descent.threads = 1;
    const auto b = find_nearest_neighbors(x, descent);
    descent.threads = 2;
    EXPECT_EQ(b.index, find_nearest_neighbors(x, descent).index);
    EXPECT_TRUE(b.approximate);
    std::int64_t hits = 0;
    for (Eigen::Index i = 0; i < a.index.rows(); ++i) {
        EXPECT_EQ(b.index(i, 0), i);
        for (Eigen::Index j = 1; j < a.index.cols(); ++j) hits += (b.index.row(i).array() == a.index(i, j)).any();
    }
    EXPECT_GE(static_cast<double>(hits) / static_cast<double>(a.index.rows() * (a.index.cols() - 1)), 0.99);
}

TEST(KnnSearch, KdTreeGivesTheBruteForceGraphInFewDimensions) {
    // 6,000 cells in 10 dimensions take the k-d tree; duplicated cells test the tie order
    RowMatrixF x = branching_cloud(6000, 10, 19);
    for (std::int64_t i = 0; i < 30; ++i) x.row(5000 + i) = x.row(i);
    expect_exact_search_is_brute_force(x, exact_neighbours(x, 14));
}

TEST(KnnSearch, GemmScreenGivesTheBruteForceGraphInManyDimensions) {
    // 4,200 cells in 30 dimensions take the single-precision GEMM screen; duplicated cells
    // and cells far from the origin (large norms, small distances) test its margin
    RowMatrixF x = branching_cloud(4200, 30, 23);
    for (std::int64_t i = 0; i < 40; ++i) x.row(4000 + i) = x.row(i);
    x.topRows(300).array() += 40.0F;
    expect_exact_search_is_brute_force(x, exact_neighbours(x, 14));
}

TEST(NnDescent, RefusesBadInput) {
    RowMatrixF x = branching_cloud(50, 4, 1);
    EXPECT_NE(test::error_of([&] { (void)nn_descent(x, {.n_neighbors = 50}); }).find("between 1 and cells - 1 (49), got 50"),
              std::string::npos);
    x(7, 2) = std::nanf("");
    EXPECT_NE(test::error_of([&] { (void)nn_descent(x, {.n_neighbors = 5}); }).find("NaN"), std::string::npos);
}

TEST(DiffusionMap, LanczosProductMatchesTheDenseSolverAndIgnoresTheThreadCount) {
    // 1,200 cells in one component: past the 1,000 below which the dense solver takes over
    const RowMatrixF x = branching_cloud(1200, 10, 17);
    const SparseMatrixD conn = umap_connectivities(find_nearest_neighbors(x, {.algorithm = KnnAlgorithm::exact}));
    DiffusionMapOptions o;
    o.threads = 1;
    const auto one = diffusion_map(conn, o);
    o.threads = 2;
    const auto two = diffusion_map(conn, o);
    ASSERT_EQ(one.n_graph_components, 1);
    EXPECT_TRUE(one.eigenvalues.cwiseEqual(two.eigenvalues).all());
    EXPECT_TRUE(one.eigenvectors.cwiseEqual(two.eigenvectors).all());

    // the same operator, solved densely
    Eigen::VectorXd z = Eigen::VectorXd::Zero(conn.rows()), degree = z;
    for (int c = 0; c < conn.outerSize(); ++c)
        for (SparseMatrixD::InnerIterator it(conn, c); it; ++it) degree(it.col()) += it.value();
    Eigen::MatrixXd k = Eigen::MatrixXd(conn);
    for (Eigen::Index i = 0; i < k.rows(); ++i)
        for (Eigen::Index j = 0; j < k.cols(); ++j) k(i, j) /= degree(i) * degree(j);
    z = k.rowwise().sum().cwiseSqrt();
    for (Eigen::Index i = 0; i < k.rows(); ++i)
        for (Eigen::Index j = 0; j < k.cols(); ++j) k(i, j) /= z(i) * z(j);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(k);
    const Eigen::Index last = k.rows() - 1;
    int checked = 0;
    for (Eigen::Index l = 0; l < one.eigenvalues.size(); ++l) {
        EXPECT_NEAR(one.eigenvalues(l), dense.eigenvalues()(last - l), 1e-10) << l;
        // the same vector up to sign, where the eigenvalue stands apart (the branches are alike)
        const auto& values = dense.eigenvalues();
        const double above = l == 0 ? 1.0 : values(last - l + 1) - values(last - l);
        const double below = values(last - l) - values(last - l - 1);
        if (std::min(above, below) < 1e-3) continue;
        ++checked;
        const double cosine = std::fabs(one.eigenvectors.col(l).dot(dense.eigenvectors().col(last - l)));
        EXPECT_NEAR(cosine, 1.0, 1e-6) << l;
    }
    EXPECT_GE(checked, 3) << "too few well-separated eigenvalues to compare vectors";
}

} // namespace
} // namespace scx
