// Palantir's pseudotime piece by piece against palantir 1.4.5 on the same input
// (tests/fixtures/palantir, written by tests/fixtures/eval/make_palantir_fixtures.py).
#include "scextract/baselines/palantir.hpp"

#include "scextract/baselines/diffusion_pseudotime.hpp"
#include "scextract/stats/statistics.hpp"
#include "scextract/io/npy.hpp"

#include "../support/error_of.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace scx {
namespace {

const std::filesystem::path kDir = std::filesystem::path(SCX_SOURCE_DIR) / "tests/fixtures/palantir";

NpyArray fixture(const std::string& name) { return read_npy(kDir / name); }

RowMatrixD as_double(const NpyArray& a) {
    const auto v = a.to_double();
    RowMatrixD m(a.shape.at(0), a.shape.at(1));
    std::copy(v.begin(), v.end(), m.data());
    return m;
}

std::vector<double> to_vector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

TEST(Palantir, KernelAndDiffusionMapMatchPalantir) {
    const RowMatrixF pca = fixture("pca.npy").to_matrix();
    const auto n = pca.rows();
    KnnSearchOptions ko;
    ko.n_neighbors = 30;
    const auto kernel = palantir_kernel(find_nearest_neighbors(pca, ko));
    const auto indptr = fixture("kernel_indptr.npy").to_int64();
    const auto indices = fixture("kernel_indices.npy").to_int64();
    const auto data = fixture("kernel_data.npy").to_double();
    std::vector<Eigen::Triplet<double>> t;
    for (Eigen::Index r = 0; r < n; ++r)
        for (auto k = indptr[static_cast<std::size_t>(r)]; k < indptr[static_cast<std::size_t>(r + 1)]; ++k)
            t.emplace_back(static_cast<int>(r), static_cast<int>(indices[static_cast<std::size_t>(k)]), data[static_cast<std::size_t>(k)]);
    SparseMatrixD ref(n, n);
    ref.setFromTriplets(t.begin(), t.end());
    const Eigen::MatrixXd diff = Eigen::MatrixXd(kernel) - Eigen::MatrixXd(ref);
    const double kernel_error = diff.cwiseAbs().maxCoeff();
    EXPECT_LT(kernel_error, 1e-5);
    ::testing::Test::RecordProperty("kernel_error", fmt::format("{:.3g}", kernel_error));

    // diffusion map from palantir's kernel: eigenvalues, unit eigenvectors up to sign
    const auto map = palantir_diffusion_map(ref, 10);
    const auto evals = fixture("evals.npy").to_double();
    const RowMatrixD evecs = as_double(fixture("evecs.npy"));
    ASSERT_EQ(map.eigenvalues.size(), 10);
    double eval_error = 0.0, evec_error = 0.0;
    for (Eigen::Index l = 0; l < 10; ++l) {
        eval_error = std::max(eval_error, std::fabs(map.eigenvalues(l) - evals[static_cast<std::size_t>(l)]));
        const Eigen::VectorXd a = map.eigenvectors.col(l), b = evecs.col(l);
        evec_error = std::max(evec_error, std::min((a - b).cwiseAbs().maxCoeff(), (a + b).cwiseAbs().maxCoeff()));
    }
    EXPECT_LT(eval_error, 1e-6);
    EXPECT_LT(evec_error, 1e-3); // palantir's eigs runs at tol 1e-4
    ::testing::Test::RecordProperty("eigenvalue_error", fmt::format("{:.3g}", eval_error));
    ::testing::Test::RecordProperty("eigenvector_error", fmt::format("{:.3g}", evec_error));

    // the multiscale space by the eigen-gap rule (same columns up to sign)
    PalantirDiffusionMap theirs{Eigen::Map<const Eigen::VectorXd>(evals.data(), 10), evecs};
    const auto ms = palantir_multiscale_space(theirs);
    const RowMatrixD ref_ms = as_double(fixture("ms.npy"));
    ASSERT_EQ(ms.cols(), ref_ms.cols());
    EXPECT_LT((ms - ref_ms).cwiseAbs().maxCoeff(), 1e-12);
}

/// min-max scaling per column, as sklearn's minmax_scale
RowMatrixD minmax(RowMatrixD m) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
        const double lo = m.col(j).minCoeff(), hi = m.col(j).maxCoeff();
        m.col(j) = (m.col(j).array() - lo) / (hi - lo);
    }
    return m;
}

TEST(Palantir, PseudotimeWithPalantirsWaypointsMatches) {
    const RowMatrixD scaled = minmax(as_double(fixture("ms.npy")));
    const auto early = fixture("early.npy").to_int64().at(0);
    for (const std::string run : {"w1200", "w150"}) {
        SCOPED_TRACE(run);
        const auto wp = fixture(run + "_waypoints.npy").to_int64();
        EXPECT_EQ(palantir_start_cell(scaled, early), wp.front());
        // our waypoints from palantir's multiscale space and seed are palantir's
        std::vector<std::int64_t> their_set(wp.begin() + 1, wp.end());
        const auto mine = palantir_waypoints(scaled, wp.front(), run == "w1200" ? 1200 : 150, 20);
        const std::vector<std::int64_t> my_set(mine.begin() + 1, mine.end());
        std::sort(their_set.begin(), their_set.end());
        EXPECT_EQ(mine.front(), wp.front());
        EXPECT_EQ(my_set, their_set);
        const auto ours = palantir_pseudotime(scaled, wp);
        const auto ref = fixture(run + "_pseudotime.npy").to_double();
        const double rho = spearman(to_vector(ours.pseudotime), ref);
        double worst = 0.0;
        for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(ours.pseudotime(static_cast<Eigen::Index>(i)) - ref[i]));
        EXPECT_GE(rho, 0.999);
        EXPECT_LT(worst, 1e-6);
        ::testing::Test::RecordProperty(run + "_spearman", fmt::format("{:.9f}", rho));
        ::testing::Test::RecordProperty(run + "_max_error", fmt::format("{:.3g}", worst));
    }
}

TEST(Palantir, WholeWorkflowFollowsPalantir) {
    const RowMatrixF x = fixture("X.npy").to_matrix();
    const auto early = fixture("early.npy").to_int64().at(0);
    const auto r = run_palantir(x, early);
    const auto ref = fixture("w1200_pseudotime.npy").to_double();
    // our PCA (double, palantir's float32) and everything after it
    const double rho = spearman(to_vector(r.pseudotime.pseudotime), ref);
    EXPECT_GE(rho, 0.99);
    ::testing::Test::RecordProperty("end_to_end_spearman", fmt::format("{:.6f}", rho));
    EXPECT_EQ(r.waypoints.front(), r.start_cell);
    PalantirOptions two;
    two.threads = 2;
    PalantirOptions one;
    one.threads = 1;
    EXPECT_TRUE(run_palantir(x, early, one).pseudotime.pseudotime.cwiseEqual(run_palantir(x, early, two).pseudotime.pseudotime).all());
    EXPECT_NE(test::error_of([&] { (void)run_palantir(x, x.rows()); }).find("early cell 800 is not among the 800 cells"),
              std::string::npos);
    const RowMatrixF few = x.topRows(20);
    EXPECT_NE(test::error_of([&] { (void)run_palantir(few, 0); }).find("20 cells, more than knn = 30 needed"),
              std::string::npos);
}

// More cells than one block of the pseudotime's parallel loops (2,048), so the threads really
// split them: the same bits at 1 and 3 threads.
TEST(Palantir, PseudotimeBitsDoNotFollowTheThreadCount) {
    std::mt19937 gen(4);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    RowMatrixD scaled(5000, 4);
    for (Eigen::Index i = 0; i < scaled.rows(); ++i) {
        const double s = static_cast<double>(i) / 5000.0; // a noisy curve
        scaled.row(i) << s, s * s, 0.1 * u(gen), 0.1 * u(gen);
    }
    std::vector<std::int64_t> waypoints{0};
    for (std::int64_t w = 37; w < 5000; w += 61) waypoints.push_back(w);
    PalantirPseudotimeOptions one, three;
    one.threads = 1;
    three.threads = 3;
    const auto a = palantir_pseudotime(scaled, waypoints, one), b = palantir_pseudotime(scaled, waypoints, three);
    EXPECT_TRUE(a.pseudotime.cwiseEqual(b.pseudotime).all());
    EXPECT_TRUE(a.waypoint_weights.cwiseEqual(b.waypoint_weights).all());
    EXPECT_GT(spearman(to_vector(a.pseudotime), to_vector(Eigen::VectorXd(scaled.col(0)))), 0.99);
}

// Large data hold the waypoint matrices in float: the pseudotime moves by rounding only, the
// bits still do not follow the thread count, and without keep_weights no weights come back.
TEST(Palantir, FloatWaypointMatricesAgreeWithDouble) {
    std::mt19937 gen(5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    RowMatrixD scaled(5000, 4);
    for (Eigen::Index i = 0; i < scaled.rows(); ++i) {
        const double s = static_cast<double>(i) / 5000.0;
        scaled.row(i) << s, std::sin(3.0 * s), 0.1 * u(gen), 0.1 * u(gen);
    }
    std::vector<std::int64_t> waypoints{0};
    for (std::int64_t w = 23; w < 5000; w += 47) waypoints.push_back(w);
    PalantirPseudotimeOptions wide, narrow, narrow_three;
    narrow.float_matrices_from = narrow_three.float_matrices_from = 1000;
    narrow_three.threads = 3;
    narrow_three.keep_weights = false;
    narrow.threads = 1;
    const auto d = palantir_pseudotime(scaled, waypoints, wide);
    const auto f = palantir_pseudotime(scaled, waypoints, narrow);
    const auto f3 = palantir_pseudotime(scaled, waypoints, narrow_three);
    EXPECT_FALSE(d.pseudotime.cwiseEqual(f.pseudotime).all()); // float storage was used
    EXPECT_LT((d.pseudotime - f.pseudotime).cwiseAbs().maxCoeff(), 1e-5);
    EXPECT_EQ(d.iterations, f.iterations);
    EXPECT_LT((d.waypoint_weights - f.waypoint_weights).cwiseAbs().maxCoeff(), 1e-6);
    EXPECT_TRUE(f.pseudotime.cwiseEqual(f3.pseudotime).all());
    EXPECT_EQ(f3.waypoint_weights.size(), 0);
}

} // namespace
} // namespace scx
