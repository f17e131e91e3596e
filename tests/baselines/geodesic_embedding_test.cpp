// Isomap and geodesic MDS against scikit-learn 1.9 (tests/fixtures/geodesic, written by
// tests/fixtures/eval/make_geodesic_fixtures.py).
#include "scextract/baselines/geodesic_embedding.hpp"

#include "scextract/io/npy.hpp"
#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace scx {
namespace {

const std::filesystem::path kDir = std::filesystem::path(SCX_SOURCE_DIR) / "tests/fixtures/geodesic";

Eigen::MatrixXd fixture(const std::string& name) {
    const auto a = read_npy(kDir / name);
    const auto v = a.to_double();
    RowMatrixD m(a.shape.at(0), a.shape.at(1));
    std::copy(v.begin(), v.end(), m.data());
    return m;
}

RowMatrixF rows(const std::string& name) { return read_npy(kDir / name).to_matrix(); }

TEST(GeodesicEmbedding, GeodesicsMatchIsomapDistMatrix) {
    const auto g = knn_geodesic_distances(rows("train.npy"), 6);
    EXPECT_LT((g - fixture("geodesic.npy")).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(GeodesicEmbedding, IsomapMatchesScikitLearnSignsIncluded) {
    const auto e = fit_geodesic_embedding(rows("train.npy"), {.method = GeodesicMethod::isomap, .n_neighbors = 6});
    const auto ref = fixture("isomap.npy");
    EXPECT_LT((e.embedding - ref).cwiseAbs().maxCoeff(), 1e-4 * ref.cwiseAbs().maxCoeff());
    // Isomap.transform of rows it never saw
    const auto placed = place_rows(e, rows("new.npy"));
    const auto ref_placed = fixture("isomap_transform.npy");
    EXPECT_LT((placed - ref_placed).cwiseAbs().maxCoeff(), 1e-4 * ref.cwiseAbs().maxCoeff());
}

TEST(GeodesicEmbedding, SmacofMatchesScikitLearnFromTheSameStart) {
    const auto s = smacof(fixture("geodesic.npy"), fixture("mds_init.npy"), 300, 1e-6);
    const auto ref = fixture("mds.npy");
    EXPECT_EQ(s.iterations, static_cast<std::int64_t>(read_npy(kDir / "mds_stress_iter.npy").to_double()[1]));
    EXPECT_NEAR(s.stress, read_npy(kDir / "mds_stress_iter.npy").to_double()[0], 1e-6);
    EXPECT_LT((s.embedding - ref).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(GeodesicEmbedding, GeodesicMdsIsSeededAndPlacesNewRows) {
    const auto x = rows("train.npy");
    const GeodesicEmbeddingOptions o{.method = GeodesicMethod::geodesic_mds, .n_neighbors = 6, .seed = 43};
    const auto a = fit_geodesic_embedding(x, o);
    const auto b = fit_geodesic_embedding(x, o);
    EXPECT_EQ(a.embedding, b.embedding);
    auto o2 = o;
    o2.seed = 44;
    EXPECT_NE(a.embedding, fit_geodesic_embedding(x, o2).embedding);
    // a training row placed as a new row lands near its own fitted position
    const auto placed = place_rows(a, x.topRows(5));
    const double scale = a.embedding.cwiseAbs().maxCoeff();
    EXPECT_LT((placed - a.embedding.topRows(5)).cwiseAbs().maxCoeff(), 0.2 * scale);
}

TEST(GeodesicEmbedding, BadNeighbourCountsAndBrokenGraphsAreRefused) {
    const auto x = rows("train.npy");
    EXPECT_NE(test::error_of([&] { knn_geodesic_distances(x, 0); }).find("k = 0 neighbours needs k in [1, 59]"), std::string::npos);
    RowMatrixF two(6, 1);
    two << 0, 0.1f, 0.2f, 10, 10.1f, 10.2f;
    EXPECT_NE(test::error_of([&] { knn_geodesic_distances(two, 2); }).find("falls into 2 parts; raise k"), std::string::npos);
}

} // namespace
} // namespace scx
