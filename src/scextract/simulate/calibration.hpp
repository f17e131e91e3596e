#pragma once
/// @file calibration.hpp
/// @brief Statistics of a real reference (raw counts with cell-type labels) that the
/// simulator can be built on, so a simulated bed is as sparse, as noisy and as
/// donor-structured as real cells (docs/simulation.md, "Calibrated beds").
///
/// Estimated from counts, per gene and per cell-type group (label x donor):
///  - the expression profile of each ruler stage that REF's labels reach (log of the pooled
///    proportion of counts, with half a count added so unseen genes stay finite), shrunk
///    towards the pool of all profiled cells by adaptive shrinkage (a gamma-Poisson model
///    whose prior is a mixture over shapes fitted by EM), so that sampling noise in a small cell type's mean does not
///    become a "true" difference between types;
///  - the negative binomial dispersion of each gene by maximum likelihood around the group
///    means (so the spread inside a cell type, biological and technical, is kept);
///  - the library-size distribution (quantiles of log total counts, used as an inverse CDF);
///  - donor effects when a donor column is given: the spread of per-donor gene log-folds
///    within cell types (sampling noise subtracted), of donor log library sizes and of
///    donor log composition;
///  - the structure of cells within a cell type: the leading principal components of the
///    within-group residuals of log1p(counts per 10k), with their sds above the noise floor
///    (cells of one type are not independent draws around its mean; they share states);
///  - the zero fraction per gene against its mean, observed and as the fitted negative
///    binomial predicts it (binned; documentation for the realism report, not used to draw).
/// The result is plain data and is stored with io/calibration_json.hpp, so a bed can be
/// rebuilt without the reference.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/ruler.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct CalibrationOptions {
    /// Fewer cells than this are refused: dispersions and quantiles from a few hundred
    /// cells are noisy (the MIT Triana set has 250; pass a lower value knowingly).
    std::int64_t min_cells = 500;
    /// A stage gets a real profile only with at least this many cells; others are interpolated.
    std::int64_t min_cells_per_stage = 10;
    /// Genes with fewer total counts get the median dispersion of the lowest-mean tenth of the others.
    double min_counts_for_dispersion = 20;
    /// Dispersions and within-type components are fitted on at most this many evenly spaced
    /// cells (bounds the time on atlases).
    std::int64_t max_cells_for_dispersion = 5000;
    /// Within-type principal components kept (0: none).
    std::int64_t within_type_components = 10;
    /// Seed of the randomised SVD behind them.
    std::uint64_t seed = 42;
};

/// One stage profiled from the reference.
struct CalibratedStage {
    std::string stage;                ///< ruler stage name
    std::vector<std::string> labels;  ///< REF labels pooled into it
    std::int64_t n_cells = 0;
    std::vector<double> log_profile;  ///< per gene: log(pooled proportion of counts)
};

/// One bin of the zero-fraction curve.
struct ZeroFractionBin {
    double log10_mean = 0;            ///< bin centre: log10 of mean counts per cell
    std::int64_t n_genes = 0;
    double observed = 0;              ///< mean observed zero fraction of its genes
    double negative_binomial = 0;     ///< mean zero fraction the fitted NB predicts
};

struct Calibration {
    std::string source;               ///< file name of the reference
    std::string source_sha256;
    std::string label_key, donor_key; ///< donor_key empty: donor effects not estimated
    std::int64_t n_cells = 0;
    std::vector<std::string> genes;   ///< REF's genes (symbols), in REF's order
    std::vector<double> theta;        ///< per gene NB inverse dispersion
    std::vector<double> log_library_quantiles; ///< 101 quantiles (0%, 1%, ..., 100%) of log total counts
    std::vector<CalibratedStage> stages;
    /// The fitted shrinkage prior: gamma shapes and their weights (empty with one stage).
    std::vector<double> profile_prior_shapes, profile_prior_weights;
    std::vector<std::string> unmapped_labels;  ///< labels no stage of the ruler takes (used for dispersion only)
    bool donor_effects_estimated = false;
    std::int64_t n_donors = 0;
    double donor_gene_sd = 0;         ///< sd of per-donor gene log-folds (sampling noise removed)
    double donor_library_sdlog = 0;   ///< sd of donor log median library size
    double donor_composition_sd = 0;  ///< sd of donor log cell-type proportions
    std::vector<ZeroFractionBin> zero_fraction;
    /// Within-type components: sds (log scale, noise floor removed) and unit loadings over genes.
    std::vector<double> within_type_sd;
    std::vector<std::vector<double>> within_type_loadings; ///< [component][gene]
};

/// Estimates a calibration from raw @p counts (cells x genes, as read) with gene
/// @p symbols, cell @p labels (mapped onto @p ruler's stages by its label table) and
/// @p donors (empty: no donor effects). @p source names the reference in messages and in
/// the result. Throws scx::Error naming @p source when the values are not raw counts, when
/// there are fewer than options.min_cells cells, or when no label maps to a stage.
Calibration calibrate_simulation(const CsrMatrix& counts, const std::vector<std::string>& symbols,
                                 const std::vector<std::string>& labels, const std::vector<std::string>& donors,
                                 const Ruler& ruler, const std::string& source, const CalibrationOptions& options = {});

/// The value at quantile @p u in [0, 1] of a distribution stored as equally spaced
/// ascending @p quantiles (0% ... 100%), linear between them: an inverse CDF for drawing.
double interpolate_quantiles(const std::vector<double>& quantiles, double u);

} // namespace scx
