#pragma once
/// @file loess.hpp
/// @brief One-predictor loess (local polynomial regression) as netlib's dloess
/// computes it, the code behind R's loess() and scikit-misc's loess.
///
/// scanpy's seurat_v3 HVGs fit log10(variance) on log10(mean) with skmisc's loess
/// defaults (family gaussian, statistics approximate, surface interpolate), so the
/// fit is reproduced step by step:
/// - each local fit takes the q = floor(n * span + 1e-5) nearest points, radius
///   = distance to the q-th, tricube weights, least squares on the column-
///   equilibrated design solved through QR and an SVD pseudo-inverse;
/// - surface "interpolate" does not fit at every point: a k-d tree over x is
///   split at medians until a cell holds at most floor(n * span * cell) points,
///   the local fit (value and slope) is evaluated at the cell vertices, and each
///   point is read off the cubic Hermite interpolant of its cell.
/// Fitted values agree with skmisc to a few 1e-15 (rounding order only).

#include <cstdint>
#include <span>
#include <vector>

namespace scx {

/// How the fitted surface is evaluated.
enum class LoessSurface {
    interpolate, ///< k-d tree + vertex fits + cubic Hermite interpolation (dloess default)
    direct,      ///< a local fit at every point
};

/// Options of run_loess(); defaults are skmisc's.
struct LoessOptions {
    double span = 0.75; ///< fraction of points in each neighbourhood, > 0
    int degree = 2;     ///< local polynomial degree: 0, 1 or 2
    LoessSurface surface = LoessSurface::interpolate;
    double cell = 0.2; ///< k-d tree cells hold at most floor(n * span * cell) points
    int threads = 0;   ///< <= 0 means all available; results do not depend on it
};

/// Output of run_loess().
struct LoessResult {
    std::vector<double> fitted;       ///< fitted value at each input x, in input order
    std::int64_t n_vertices = 0;      ///< k-d tree vertices (local fits); 0 for direct
    std::int64_t n_cells = 0;         ///< k-d tree cells, leaves and inner; 0 for direct
    std::int64_t n_pseudoinverse = 0; ///< local fits whose design was numerically singular
};

/// Fits y on x. Throws scx::Error on mismatched sizes, non-finite input, a span
/// too small for the degree, or a neighbourhood of zero width (all q nearest
/// points at the same x), naming the problem.
LoessResult run_loess(std::span<const double> x, std::span<const double> y, const LoessOptions& options = {});

/// As above with prior weights (>= 0, one per point), as skmisc's weights argument.
LoessResult run_loess(std::span<const double> x, std::span<const double> y, std::span<const double> weights,
                      const LoessOptions& options);

} // namespace scx
