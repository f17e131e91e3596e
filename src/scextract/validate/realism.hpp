#pragma once
/// @file realism.hpp
/// @brief How close a simulated data set is to a real one: per-cell, per-gene, per-donor
/// and per-marker statistics of the raw counts, each with a one-number distance
/// (`scextract simulate --compare`; docs/simulation.md).
///
/// Distributions (library size, detected genes, donor-effect magnitude) are compared
/// with the two-sample Kolmogorov-Smirnov distance (scipy.stats.ks_2samp's statistic);
/// curves (zero fraction and variance against the mean) by the mean absolute difference
/// of their binned medians over the bins both sets fill; marker detection rates by the
/// mean absolute difference over the markers both sets hold.

#include "scextract/core/csr_matrix.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// The statistics of one data set, computed once.
struct RealismSummary {
    std::string name;
    std::vector<double> log10_library;    ///< per cell, cells with any count
    std::vector<double> detected_genes;   ///< per cell, genes with a count > 0
    std::vector<double> log10_gene_mean;  ///< per gene with any count: mean counts per cell
    std::vector<double> gene_zero_fraction;
    std::vector<double> log10_gene_dispersion_index; ///< log10(variance / mean)
    /// Per gene (mean >= 0.1 counts per cell): sd across donors of log pseudo-bulk counts per
    /// 10k; empty when fewer than two donors.
    std::vector<double> donor_log_sd;
    std::int64_t n_donors = 0;
    std::vector<std::string> markers;     ///< marker symbols present
    std::vector<double> marker_detection; ///< fraction of cells with a count, per marker
};

/// Summarises raw @p counts (cells x genes) with gene @p symbols and cell @p donors
/// (empty: no donor statistic). @p markers are looked up among the symbols.
RealismSummary summarize_realism(const CsrMatrix& counts, const std::vector<std::string>& symbols,
                                 const std::vector<std::string>& donors, const std::vector<std::string>& markers,
                                 const std::string& name);

/// One row of the comparison.
struct RealismStatistic {
    std::string name;        ///< e.g. "library_size"
    std::string description;
    std::string distance;    ///< "KS" or "mean |difference|"
    double value = 0;        ///< NaN when not available
    std::int64_t n_simulated = 0, n_real = 0;
    double median_simulated = 0, median_real = 0;
    std::string note;        ///< why it is not available, when it is not
};

struct RealismComparison {
    RealismSummary simulated, real;
    std::vector<RealismStatistic> statistics;
};

/// The two-sample Kolmogorov-Smirnov distance sup |F_a - F_b| (NaN when either is empty).
double ks_distance(std::vector<double> a, std::vector<double> b);

/// Mean over the bins of width @p bin_width on x that both curves fill (at least 3 points
/// each) of |median y_a - median y_b|; NaN when they share no bin.
double binned_curve_distance(const std::vector<double>& x_a, const std::vector<double>& y_a,
                             const std::vector<double>& x_b, const std::vector<double>& y_b, double bin_width = 0.25);

RealismComparison compare_realism(RealismSummary simulated, RealismSummary real);

/// Writes realism.tsv (one row per statistic), realism.json and realism.svg (six panels,
/// simulated beside real) into @p directory (created), each file atomically.
void write_realism_report(const RealismComparison& comparison, const std::string& directory);

} // namespace scx
