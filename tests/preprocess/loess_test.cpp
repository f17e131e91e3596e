#include "scextract/preprocess/loess.hpp"

#include "fixture_files.hpp"
#include "scextract/core/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace scx {
namespace {

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    double m = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

// skmisc.loess(x, y, span=0.3, degree=2) on scanpy's seurat_v3 regression of pbmc68k.
TEST(Loess, MatchesSkmiscOnSeuratV3Regression) {
    const auto csv = test::read_csv(test::fixture_dir() / "loess_pbmc68k.csv");
    const auto x = csv.doubles("x"), y = csv.doubles("y");
    LoessOptions opt;
    opt.span = 0.3;
    const auto interp = run_loess(x, y, opt);
    const double err = max_abs_diff(interp.fitted, csv.doubles("fit_interpolate"));
    EXPECT_LT(err, 1e-11);
    RecordProperty("max_abs_diff_interpolate", test::sci(err));
    EXPECT_GT(interp.n_vertices, 2);
    EXPECT_EQ(interp.n_pseudoinverse, 0);

    opt.surface = LoessSurface::direct;
    const auto direct = run_loess(x, y, opt);
    const double err_direct = max_abs_diff(direct.fitted, csv.doubles("fit_direct"));
    EXPECT_LT(err_direct, 1e-11);
    RecordProperty("max_abs_diff_direct", test::sci(err_direct));
}

// Many tied x values exercise the k-d tree's tie rules; degrees 0, 1, 2 and three spans.
TEST(Loess, MatchesSkmiscWithTiesAndOtherDegrees) {
    const auto csv = test::read_csv(test::fixture_dir() / "loess_ties.csv");
    const auto x = csv.doubles("x"), y = csv.doubles("y");
    struct Case {
        int degree;
        double span;
        const char* column;
    };
    for (const Case c : {Case{0, 0.3, "fit_d0_s0.3"}, Case{1, 0.3, "fit_d1_s0.3"}, Case{2, 0.3, "fit_d2_s0.3"},
                         Case{2, 0.75, "fit_d2_s0.75"}, Case{2, 0.1, "fit_d2_s0.1"}}) {
        LoessOptions opt;
        opt.degree = c.degree;
        opt.span = c.span;
        const auto fit = run_loess(x, y, opt);
        const double err = max_abs_diff(fit.fitted, csv.doubles(c.column));
        EXPECT_LT(err, 1e-11) << c.column;
        RecordProperty(std::string("max_abs_diff_") + c.column, test::sci(err));
    }
}

TEST(Loess, ThreadCountDoesNotChangeBits) {
    const auto csv = test::read_csv(test::fixture_dir() / "loess_pbmc68k.csv");
    const auto x = csv.doubles("x"), y = csv.doubles("y");
    LoessOptions a, b;
    a.span = b.span = 0.3;
    a.threads = 1;
    b.threads = 2;
    EXPECT_EQ(run_loess(x, y, a).fitted, run_loess(x, y, b).fitted);
}

TEST(Loess, ReproducesAQuadraticExactly) {
    std::vector<double> x, y;
    for (int i = 0; i < 50; ++i) {
        x.push_back(i * 0.1);
        y.push_back(1.0 + 2.0 * x.back() - 0.5 * x.back() * x.back());
    }
    const auto fit = run_loess(x, y);
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(fit.fitted[i], y[i], 1e-9);
}

TEST(Loess, RejectsBadInput) {
    const std::vector<double> x = {1, 2, 3, 4, 5, 6}, y = {1, 2, 3, 4, 5, 6}, short_y = {1, 2};
    EXPECT_THROW(run_loess(x, short_y), Error);
    LoessOptions opt;
    opt.span = 0.3; // 1 point per neighbourhood: too few for degree 2
    EXPECT_THROW(run_loess(x, y, opt), Error);
    opt.span = 0.75;
    opt.degree = 3;
    EXPECT_THROW(run_loess(x, y, opt), Error);
    const std::vector<double> flat = {2, 2, 2, 2, 2, 2};
    EXPECT_THROW(run_loess(flat, y), Error); // zero-width neighbourhood
    std::vector<double> nan_y = y;
    nan_y[2] = std::nan("");
    EXPECT_THROW(run_loess(x, nan_y), Error);
}

} // namespace
} // namespace scx
