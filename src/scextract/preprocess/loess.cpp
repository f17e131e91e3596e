#include "scextract/preprocess/loess.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include <Eigen/Dense>
#include <fmt/format.h>

namespace scx {

namespace {

struct LocalFit {
    double value = 0.0;
    double slope = 0.0;
    bool singular = false;
};

// Per-thread buffers of a LocalFitter.
struct FitScratch {
    std::vector<double> dist;
    std::vector<std::int64_t> rows;
};

// One weighted local polynomial fit centred at q, as dloess's ehg127.
class LocalFitter {
  public:
    LocalFitter(std::span<const double> x, std::span<const double> y, std::span<const double> prior, std::int64_t nf,
                double span, int degree)
        : x_(x), y_(y), prior_(prior), nf_(nf), span_(span), k_(degree + 1) {}

    LocalFit fit(double q, FitScratch& buffers) const {
        const auto n = static_cast<std::int64_t>(x_.size());
        auto& scratch = buffers.dist;
        auto& rows = buffers.rows;
        scratch.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) scratch[i] = (x_[i] - q) * (x_[i] - q);
        // Squared radius: the nf-th smallest squared distance (dloess scales it by span when span > 1).
        std::nth_element(scratch.begin(), scratch.begin() + (nf_ - 1), scratch.end());
        const double rho = scratch[nf_ - 1] * std::max(1.0, span_);
        if (!(rho > 0.0))
            throw Error(fmt::format("loess: zero-width neighbourhood at x = {}: the {} nearest points all lie there; "
                                    "make span bigger",
                                    q, nf_));

        // Points at distance >= rho get weight zero in dloess, so only closer ones are kept.
        rows.clear();
        for (std::int64_t i = 0; i < n; ++i)
            if ((x_[i] - q) * (x_[i] - q) < rho) rows.push_back(i);
        const auto m = static_cast<Eigen::Index>(rows.size());
        Eigen::MatrixXd b(m, k_);
        Eigen::VectorXd eta(m);
        double max_w = 0.0;
        for (Eigen::Index r = 0; r < m; ++r) {
            const auto i = rows[static_cast<std::size_t>(r)];
            const double dx = x_[i] - q;
            const double a = std::sqrt(dx * dx / rho);
            const double t = 1.0 - a * a * a;
            const double w = std::sqrt(prior_[i] * (t * t * t));
            max_w = std::max(max_w, w);
            b(r, 0) = w;
            if (k_ > 1) b(r, 1) = w * dx;
            if (k_ > 2) b(r, 2) = w * (dx * dx);
            eta(r) = w * y_[i];
        }
        if (max_w == 0.0)
            throw Error(
                fmt::format("loess: all points in the neighbourhood of x = {} have zero weight; make span bigger", q));

        // Equilibrate columns, then least squares by QR and an SVD pseudo-inverse of R.
        Eigen::VectorXd colnorm = Eigen::VectorXd::Ones(k_);
        for (int j = 0; j < k_; ++j) {
            const double s = b.col(j).norm();
            if (s > 0.0) {
                b.col(j) /= s;
                colnorm(j) = s;
            }
        }
        Eigen::HouseholderQR<Eigen::MatrixXd> qr(b);
        const Eigen::VectorXd qty = qr.householderQ().adjoint() * eta;
        const Eigen::MatrixXd r = qr.matrixQR().topRows(k_).triangularView<Eigen::Upper>();
        Eigen::JacobiSVD<Eigen::MatrixXd> svd(r, Eigen::ComputeFullU | Eigen::ComputeFullV);
        const auto& sigma = svd.singularValues();
        const double tol = sigma(0) * (100.0 * DBL_EPSILON);
        Eigen::VectorXd gamma(k_);
        for (int j = 0; j < k_; ++j)
            gamma(j) = tol < sigma(j) ? svd.matrixU().col(j).dot(qty.head(k_)) / sigma(j) : 0.0;
        const Eigen::VectorXd beta = (svd.matrixV() * gamma).cwiseQuotient(colnorm);

        LocalFit out;
        out.value = beta(0);
        out.slope = k_ > 1 ? beta(1) : 0.0;
        out.singular = sigma(k_ - 1) <= tol;
        return out;
    }

  private:
    std::span<const double> x_, y_, prior_;
    std::int64_t nf_;
    double span_;
    int k_;
};

// A k-d tree cell over the sorted x: points [lo, hi] (inclusive), vertices v0 < v1.
struct KdCell {
    std::int64_t lo = 0, hi = 0;
    std::int64_t v0 = 0, v1 = 0;
    bool split = false;
    double xi = 0.0;
    std::int64_t left = -1, right = -1;
};

struct KdTree {
    std::vector<double> vertices;
    std::vector<KdCell> cells;
};

// dloess's ehg126 + ehg124 for one predictor. Cells are processed breadth first and
// split at the median; ties at the median move the cut to the nearest gap
// (offsets 0, +1, -1, +2, ...), and a cut on a cell boundary makes a leaf.
KdTree build_kd_tree(std::span<const double> x, double span, double cell) {
    const auto n = static_cast<std::int64_t>(x.size());
    std::vector<double> xs(x.begin(), x.end());
    std::sort(xs.begin(), xs.end());
    const double lo = xs.front(), hi = xs.back();
    const double margin = 0.005 * std::max(hi - lo, 1e-10 * std::max(std::fabs(lo), std::fabs(hi)) + 1e-30);

    const auto fc = static_cast<std::int64_t>(std::floor(static_cast<double>(n) * (span * cell)));
    const std::int64_t nvmax = std::max<std::int64_t>(200, n); // dloess's workspace limits
    const std::int64_t ncmax = nvmax;

    KdTree tree;
    tree.vertices = {lo - margin, hi + margin};
    tree.cells.push_back({0, n - 1, 0, 1});
    for (std::size_t p = 0; p < tree.cells.size(); ++p) {
        const KdCell c = tree.cells[p];
        const double diam = tree.vertices[c.v1] - tree.vertices[c.v0];
        bool leaf = (c.hi - c.lo + 1 <= fc) || diam <= 0.0;
        if (!leaf) {
            const auto nc = static_cast<std::int64_t>(tree.cells.size());
            const auto nv = static_cast<std::int64_t>(tree.vertices.size());
            leaf = ncmax < nc + 2 || static_cast<double>(nvmax) < static_cast<double>(nv) + 1.0;
        }
        std::int64_t m = 0;
        if (!leaf) {
            m = (c.lo + c.hi + 2) / 2 - 1; // Fortran's int((l+u)/2) in 1-based indices
            std::int64_t offset = 0;
            while (m + offset < c.hi && m + offset >= c.lo) {
                if (xs[m + offset] == xs[m + offset + 1]) {
                    offset = -offset;
                    if (offset >= 0) ++offset;
                } else {
                    m += offset;
                    break;
                }
            }
            leaf = tree.vertices[c.v0] == xs[m] || tree.vertices[c.v1] == xs[m];
        }
        if (leaf) continue;
        const double cut = xs[m];
        const auto nv = static_cast<std::int64_t>(tree.vertices.size());
        tree.vertices.push_back(cut);
        const auto left = static_cast<std::int64_t>(tree.cells.size());
        tree.cells.push_back({c.lo, m, c.v0, nv});
        tree.cells.push_back({m + 1, c.hi, nv, c.v1});
        KdCell& parent = tree.cells[p];
        parent.split = true;
        parent.xi = cut;
        parent.left = left;
        parent.right = left + 1;
    }
    return tree;
}

// dloess's ehg128 for one predictor: cubic Hermite interpolation in the leaf holding z.
double interpolate(const KdTree& tree, const std::vector<LocalFit>& at_vertex, double z) {
    std::size_t j = 0;
    while (tree.cells[j].split)
        j = static_cast<std::size_t>(z <= tree.cells[j].xi ? tree.cells[j].left : tree.cells[j].right);
    const KdCell& c = tree.cells[j];
    const double a = tree.vertices[c.v0], b = tree.vertices[c.v1];
    const double h = (z - a) / (b - a);
    const double phi0 = (1 - h) * (1 - h) * (1 + 2 * h);
    const double phi1 = h * h * (3 - 2 * h);
    const double psi0 = h * (1 - h) * (1 - h);
    const double psi1 = h * h * (h - 1);
    const LocalFit& g0 = at_vertex[c.v0];
    const LocalFit& g1 = at_vertex[c.v1];
    return phi0 * g0.value + phi1 * g1.value + (psi0 * g0.slope + psi1 * g1.slope) * (b - a);
}

void check_inputs(std::span<const double> x, std::span<const double> y, std::span<const double> w,
                  const LoessOptions& o) {
    if (x.size() != y.size() || x.size() != w.size())
        throw Error(
            fmt::format("loess: x has {} values, y {} and weights {}; they must match", x.size(), y.size(), w.size()));
    if (x.empty()) throw Error("loess: no data points");
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i]))
            throw Error(fmt::format("loess: point {} is not finite (x = {}, y = {})", i, x[i], y[i]));
        if (!std::isfinite(w[i]) || w[i] < 0.0)
            throw Error(fmt::format("loess: weight {} is {}; weights must be >= 0", i, w[i]));
    }
    if (!std::isfinite(o.span) || o.span <= 0.0)
        throw Error(fmt::format("loess: span must be positive, got {}", o.span));
    if (o.degree < 0 || o.degree > 2) throw Error(fmt::format("loess: degree must be 0, 1 or 2, got {}", o.degree));
    if (!std::isfinite(o.cell) || o.cell <= 0.0)
        throw Error(fmt::format("loess: cell must be positive, got {}", o.cell));
}

} // namespace

LoessResult run_loess(std::span<const double> x, std::span<const double> y, const LoessOptions& options) {
    const std::vector<double> ones(x.size(), 1.0);
    return run_loess(x, y, ones, options);
}

LoessResult run_loess(std::span<const double> x, std::span<const double> y, std::span<const double> weights,
                      const LoessOptions& options) {
    check_inputs(x, y, weights, options);
    const auto n = static_cast<std::int64_t>(x.size());
    const std::int64_t nf =
        std::min<std::int64_t>(n, static_cast<std::int64_t>(std::floor(static_cast<double>(n) * options.span + 1e-5)));
    const int k = options.degree + 1;
    if (nf <= 0 || k > nf - 1)
        throw Error(
            fmt::format("loess: span {} gives neighbourhoods of {} of the {} points, too few for a degree {} fit; "
                        "make span bigger",
                        options.span, nf, n, options.degree));
    const LocalFitter fitter(x, y, weights, nf, options.span, options.degree);

    LoessResult result;
    result.fitted.resize(static_cast<std::size_t>(n));
    if (options.surface == LoessSurface::direct) {
        std::vector<std::int64_t> singular(static_cast<std::size_t>(chunk_count(n, 64)), 0);
        parallel_for(n, 64, options.threads, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
            FitScratch scratch;
            for (std::int64_t i = begin; i < end; ++i) {
                const LocalFit f = fitter.fit(x[i], scratch);
                result.fitted[i] = f.value;
                singular[c] += f.singular ? 1 : 0;
            }
        });
        for (auto s : singular) result.n_pseudoinverse += s;
        return result;
    }

    const KdTree tree = build_kd_tree(x, options.span, options.cell);
    const auto nv = static_cast<std::int64_t>(tree.vertices.size());
    std::vector<LocalFit> at_vertex(static_cast<std::size_t>(nv));
    parallel_for(nv, 1, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        FitScratch scratch;
        for (std::int64_t v = begin; v < end; ++v) at_vertex[v] = fitter.fit(tree.vertices[v], scratch);
    });
    parallel_for(n, 4096, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) result.fitted[i] = interpolate(tree, at_vertex, x[i]);
    });
    result.n_vertices = nv;
    result.n_cells = static_cast<std::int64_t>(tree.cells.size());
    for (const auto& f : at_vertex) result.n_pseudoinverse += f.singular ? 1 : 0;
    return result;
}

} // namespace scx
