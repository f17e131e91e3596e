#include "scextract/simulate/calibration.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/quantile.hpp"
#include "scextract/core/random.hpp"
#include "scextract/preprocess/count_check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include <Eigen/Dense>
#include <fmt/format.h>

namespace scx {

namespace {

/// At most @p max_cells evenly spaced row indices of [0, n): where atlas-sized references
/// are subsampled for the per-gene fits.
std::vector<std::int64_t> evenly_spaced(std::int64_t n, std::int64_t max_cells) {
    const std::int64_t step = std::max<std::int64_t>(1, (n + max_cells - 1) / max_cells);
    std::vector<std::int64_t> rows;
    for (std::int64_t c = 0; c < n; c += step) rows.push_back(c);
    return rows;
}

double sample_sd(const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double ss = 0;
    for (const double x : v) ss += (x - m) * (x - m);
    return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

/// Cells grouped by (label, donor): the unit inside which expression is one distribution.
struct Groups {
    std::vector<std::int64_t> of_cell;
    std::vector<std::string> label, donor;
    std::vector<std::int64_t> n_cells;
    std::vector<double> total, total_sq; ///< sum of cell totals and of their squares
    std::vector<std::vector<double>> counts; ///< [group][gene] summed counts
};

Groups group_cells(const CsrMatrix& x, const std::vector<double>& totals, const std::vector<std::string>& labels,
                   const std::vector<std::string>& donors) {
    Groups g;
    std::map<std::pair<std::string, std::string>, std::int64_t> index;
    g.of_cell.resize(static_cast<std::size_t>(x.n_rows));
    for (std::int64_t c = 0; c < x.n_rows; ++c) {
        const std::pair<std::string, std::string> key{labels[c], donors.empty() ? std::string() : donors[c]};
        auto [it, added] = index.emplace(key, static_cast<std::int64_t>(g.label.size()));
        if (added) {
            g.label.push_back(key.first);
            g.donor.push_back(key.second);
            g.n_cells.push_back(0);
            g.total.push_back(0);
            g.total_sq.push_back(0);
            g.counts.emplace_back(static_cast<std::size_t>(x.n_cols), 0.0);
        }
        const auto k = it->second;
        g.of_cell[c] = k;
        g.n_cells[k] += 1;
        g.total[k] += totals[c];
        g.total_sq[k] += totals[c] * totals[c];
        const auto idx = x.row_indices(c);
        const auto val = x.row_values(c);
        for (std::size_t j = 0; j < idx.size(); ++j) g.counts[k][idx[j]] += val[j];
    }
    return g;
}

/// Maximum-likelihood NB dispersion per gene with the means fixed at the group means
/// m_cg = total_c p_kg (as edgeR / glmGamPoi fit a gene's overdispersion), by golden-section
/// search on log theta in [1e-2, 1e3], on at most @p max_cells evenly spaced cells.
/// Moment estimates were tried first: a few large counts make them 10-100x too dispersed,
/// so the simulated genes had far too many zeros (docs/simulation.md).
std::vector<double> ml_dispersions(const CsrMatrix& x, const std::vector<double>& totals, const Groups& g,
                                   std::int64_t max_cells) {
    const auto n_genes = static_cast<std::size_t>(x.n_cols);
    const auto cells = evenly_spaced(x.n_rows, max_cells);
    std::vector<std::vector<std::pair<std::int64_t, double>>> nonzero(n_genes); // (sampled cell, count)
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto idx = x.row_indices(cells[i]);
        const auto val = x.row_values(cells[i]);
        for (std::size_t j = 0; j < idx.size(); ++j)
            if (val[j] > 0) nonzero[idx[j]].emplace_back(static_cast<std::int64_t>(i), val[j]);
    }
    std::vector<double> theta(n_genes, std::nan(""));
    parallel_for(static_cast<std::int64_t>(n_genes), 8, 0, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        std::vector<double> m(cells.size());
        for (std::int64_t gene = b; gene < e; ++gene) {
            if (nonzero[gene].empty()) continue;
            for (std::size_t i = 0; i < cells.size(); ++i) {
                const auto k = g.of_cell[cells[i]];
                m[i] = g.total[k] > 0 ? totals[cells[i]] * g.counts[k][gene] / g.total[k] : 0.0;
            }
            const auto loglik = [&](double log_theta) {
                const double t = std::exp(log_theta);
                double ll = 0;
                for (const double mi : m)
                    if (mi > 0) ll += t * std::log(t / (t + mi));
                for (const auto& [i, xi] : nonzero[gene])
                    ll += std::lgamma(xi + t) - std::lgamma(t) + xi * std::log(m[i] / (t + m[i]));
                return ll;
            };
            constexpr double kInvPhi = 0.6180339887498949;
            double lo = std::log(1e-2), hi = std::log(1e3);
            double c1 = hi - kInvPhi * (hi - lo), c2 = lo + kInvPhi * (hi - lo);
            double f1 = loglik(c1), f2 = loglik(c2);
            for (int it = 0; it < 40; ++it) {
                if (f1 < f2) {
                    lo = c1;
                    c1 = c2;
                    f1 = f2;
                    c2 = lo + kInvPhi * (hi - lo);
                    f2 = loglik(c2);
                } else {
                    hi = c2;
                    c2 = c1;
                    f2 = f1;
                    c1 = hi - kInvPhi * (hi - lo);
                    f1 = loglik(c1);
                }
            }
            theta[gene] = std::exp(0.5 * (lo + hi));
        }
    });
    return theta;
}

/// Leading principal components of the within-group residuals of log1p(counts per 10k) on
/// at most @p max_cells evenly spaced cells: a randomised SVD (Halko et al. 2011; seeded,
/// two power iterations) of the centred residual matrix. A component's sd is its singular
/// value over sqrt(n - 1) with the noise floor (the mean variance of the next ten
/// components) subtracted, so independent sampling noise, which the NB already draws, is
/// not counted twice.
void within_type_components(const CsrMatrix& x, const std::vector<double>& totals, const Groups& g,
                            const CalibrationOptions& o, Calibration& cal) {
    const auto k = o.within_type_components;
    if (k <= 0) return;
    auto cells = evenly_spaced(x.n_rows, o.max_cells_for_dispersion);
    std::erase_if(cells, [&](std::int64_t c) { return !(totals[c] > 0); });
    const auto n = static_cast<Eigen::Index>(cells.size());
    const auto n_genes = static_cast<Eigen::Index>(x.n_cols);
    const Eigen::Index rank = std::min<Eigen::Index>(k + 10, std::min(n, n_genes) - 1);
    if (rank <= k) return;
    Eigen::MatrixXd y = Eigen::MatrixXd::Zero(n, n_genes);
    for (Eigen::Index i = 0; i < n; ++i) {
        const auto c = cells[i];
        const auto idx = x.row_indices(c);
        const auto val = x.row_values(c);
        for (std::size_t j = 0; j < idx.size(); ++j) y(i, idx[j]) = std::log1p(1e4 * val[j] / totals[c]);
    }
    // centre within groups (label x donor)
    std::map<std::int64_t, std::vector<Eigen::Index>> rows_of_group;
    for (Eigen::Index i = 0; i < n; ++i) rows_of_group[g.of_cell[cells[i]]].push_back(i);
    for (const auto& [grp, rows] : rows_of_group) {
        Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(n_genes);
        for (const auto i : rows) mean += y.row(i);
        mean /= static_cast<double>(rows.size());
        for (const auto i : rows) y.row(i) -= mean;
    }
    Rng rng(o.seed, 0xCA11B4A7E0ULL);
    Eigen::MatrixXd omega(n_genes, rank);
    for (Eigen::Index j = 0; j < omega.size(); ++j) omega.data()[j] = rng.normal();
    Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(y * omega).householderQ() * Eigen::MatrixXd::Identity(n, rank);
    for (int it = 0; it < 2; ++it) {
        const Eigen::MatrixXd z = Eigen::HouseholderQR<Eigen::MatrixXd>(y.transpose() * q).householderQ() *
                                  Eigen::MatrixXd::Identity(n_genes, rank);
        q = Eigen::HouseholderQR<Eigen::MatrixXd>(y * z).householderQ() * Eigen::MatrixXd::Identity(n, rank);
    }
    const Eigen::MatrixXd b = q.transpose() * y; // rank x genes
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(b, Eigen::ComputeThinV);
    const Eigen::VectorXd var = svd.singularValues().array().square() / static_cast<double>(n - 1);
    double floor = 0;
    for (Eigen::Index j = k; j < rank; ++j) floor += var(j) / static_cast<double>(rank - k);
    for (Eigen::Index j = 0; j < k; ++j) {
        const double sd = std::sqrt(std::max(0.0, var(j) - floor));
        if (!(sd > 0)) break;
        Eigen::VectorXd v = svd.matrixV().col(j);
        // a sign convention, so the file does not depend on the solver's choice
        Eigen::Index big = 0;
        v.cwiseAbs().maxCoeff(&big);
        if (v(big) < 0) v = -v;
        cal.within_type_sd.push_back(sd);
        cal.within_type_loadings.emplace_back(v.data(), v.data() + v.size());
    }
}

} // namespace

double interpolate_quantiles(const std::vector<double>& quantiles, double u) {
    if (quantiles.size() < 2) throw Error("interpolate_quantiles: at least two quantiles are needed");
    return sorted_quantile(quantiles, u);
}

Calibration calibrate_simulation(const CsrMatrix& x, const std::vector<std::string>& symbols,
                                 const std::vector<std::string>& labels, const std::vector<std::string>& donors,
                                 const Ruler& ruler, const std::string& source, const CalibrationOptions& o) {
    const auto n = x.n_rows;
    const auto n_genes = x.n_cols;
    if (static_cast<std::int64_t>(symbols.size()) != n_genes || static_cast<std::int64_t>(labels.size()) != n ||
        !(donors.empty() || static_cast<std::int64_t>(donors.size()) == n))
        throw Error(fmt::format("{}: calibration inputs disagree in size ({} cells, {} genes, {} labels, {} donors)",
                                source, n, n_genes, labels.size(), donors.size()));
    require_counts(inspect_values(x), source + " X",
                   "calibration estimates dispersions from raw counts; pass a counts layer (--layer) or raw.X (--raw)");
    if (n < o.min_cells)
        throw Error(fmt::format("{}: {} cells, calibration needs at least {} (--min-cells lowers it; estimates from "
                                "fewer cells are noisy)",
                                source, n, o.min_cells));

    Calibration cal;
    cal.source = source;
    cal.n_cells = n;
    cal.genes = symbols;
    std::vector<double> totals(static_cast<std::size_t>(n), 0.0), gene_total(static_cast<std::size_t>(n_genes), 0.0);
    std::vector<std::int64_t> gene_nnz(static_cast<std::size_t>(n_genes), 0);
    for (std::int64_t c = 0; c < n; ++c) {
        const auto idx = x.row_indices(c);
        const auto val = x.row_values(c);
        for (std::size_t j = 0; j < idx.size(); ++j) {
            totals[c] += val[j];
            gene_total[idx[j]] += val[j];
            gene_nnz[idx[j]] += val[j] > 0 ? 1 : 0;
        }
    }

    // Library sizes: quantiles of log totals over cells with any count.
    std::vector<double> log_totals;
    for (const double t : totals)
        if (t > 0) log_totals.push_back(std::log(t));
    if (log_totals.size() < 2) throw Error(fmt::format("{}: fewer than two cells hold any count", source));
    std::sort(log_totals.begin(), log_totals.end());
    for (int i = 0; i <= 100; ++i) cal.log_library_quantiles.push_back(sorted_quantile(log_totals, i / 100.0));

    const auto groups = group_cells(x, totals, labels, donors);

    // Dispersions; genes with too few counts take the median of the lowest-mean tenth of the others.
    const auto fitted = ml_dispersions(x, totals, groups, o.max_cells_for_dispersion);
    std::vector<std::pair<double, double>> reliable; // (total counts, theta)
    for (std::int64_t gene = 0; gene < n_genes; ++gene)
        if (gene_total[gene] >= o.min_counts_for_dispersion && std::isfinite(fitted[gene]))
            reliable.emplace_back(gene_total[gene], fitted[gene]);
    std::sort(reliable.begin(), reliable.end());
    std::vector<double> low_theta;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, reliable.size() / 10) && i < reliable.size(); ++i)
        low_theta.push_back(reliable[i].second);
    const double fallback_theta = low_theta.empty() ? 1.0 : median(low_theta);
    cal.theta.resize(static_cast<std::size_t>(n_genes));
    for (std::int64_t gene = 0; gene < n_genes; ++gene) {
        const bool ok = gene_total[gene] >= o.min_counts_for_dispersion && std::isfinite(fitted[gene]);
        cal.theta[gene] = ok ? fitted[gene] : fallback_theta;
    }

    // Stage profiles: labels pooled by the stage the ruler gives them.
    std::map<std::int64_t, std::vector<std::size_t>> groups_of_stage;
    std::map<std::string, bool> seen_unmapped;
    for (std::size_t k = 0; k < groups.label.size(); ++k) {
        const auto s = ruler.stage_of_label(groups.label[k]);
        if (s >= 0) groups_of_stage[s].push_back(k);
        else if (!seen_unmapped[groups.label[k]]) {
            seen_unmapped[groups.label[k]] = true;
            cal.unmapped_labels.push_back(groups.label[k]);
        }
    }
    if (groups_of_stage.empty())
        throw Error(fmt::format("{}: none of the {} labels maps to a stage of the ruler '{}' (e.g. '{}'); pass the "
                                "column with cell types as --label-key, or a ruler whose labels name them",
                                source, cal.unmapped_labels.size(), ruler.name,
                                cal.unmapped_labels.empty() ? "" : cal.unmapped_labels.front()));
    struct Pooled {
        CalibratedStage stage;
        std::vector<double> counts;
        double total = 0, total_sq = 0;
    };
    std::vector<Pooled> pooled;
    for (const auto& [s, ks] : groups_of_stage) {
        Pooled p;
        p.stage.stage = ruler.stages[s].name;
        p.counts.assign(static_cast<std::size_t>(n_genes), 0.0);
        for (const auto k : ks) {
            p.stage.n_cells += groups.n_cells[k];
            p.total += groups.total[k];
            p.total_sq += groups.total_sq[k];
            for (std::int64_t gene = 0; gene < n_genes; ++gene) p.counts[gene] += groups.counts[k][gene];
            if (std::find(p.stage.labels.begin(), p.stage.labels.end(), groups.label[k]) == p.stage.labels.end())
                p.stage.labels.push_back(groups.label[k]);
        }
        if (p.stage.n_cells >= o.min_cells_per_stage && p.total > 0) pooled.push_back(std::move(p));
    }
    // Empirical-Bayes shrinkage of each stage's profile towards the pool of all profiled
    // cells: a stage mean from few cells carries sampling noise in every gene, and a simulator
    // that took it as truth would make cell types separable on noise (docs/simulation.md).
    // Counts model: a stage's count of a gene X ~ Poisson(T_k r), its rate r ~ Gamma(shape a,
    // mean = the pool's proportion), so X ~ NB(mean E = T_k pool, size a); the prior is a
    // mixture over a grid of shapes with weights fitted by EM over all (stage, gene) pairs
    // (adaptive shrinkage on the count scale, after Stephens 2017). Small shapes let a stage
    // differ freely (a gene absent from a large stage stays absent), large ones say "as the
    // pool". The posterior mean of r under shape a is pool (X + a) / (E + a).
    double pool_total = 0;
    std::vector<double> pool_counts(static_cast<std::size_t>(n_genes), 0.0);
    for (const auto& p : pooled) {
        pool_total += p.total;
        for (std::int64_t gene = 0; gene < n_genes; ++gene) pool_counts[gene] += p.counts[gene];
    }
    const std::vector<double> shapes = {0.1, 0.3, 1, 3, 10, 30, 100, 300, 1e3, 1e4, 1e5};
    std::vector<double> weight(shapes.size(), 1.0 / static_cast<double>(shapes.size()));
    const auto pool_share = [&](std::int64_t gene) { return (pool_counts[gene] + 0.5) / (pool_total + 0.5); };
    const auto responsibilities = [&](double x, double e, std::vector<double>& r) {
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < shapes.size(); ++j) {
            const double a = shapes[j];
            r[j] = std::log(weight[j]) + std::lgamma(x + a) - std::lgamma(a) + a * std::log(a / (a + e)) +
                   x * std::log(e / (a + e));
            best = std::max(best, r[j]);
        }
        double sum = 0;
        for (auto& v : r) sum += (v = std::exp(v - best));
        for (auto& v : r) v /= sum;
    };
    std::vector<double> r(shapes.size());
    if (pooled.size() >= 2) {
        for (int it = 0; it < 100; ++it) {
            std::vector<double> next(shapes.size(), 1e-12);
            for (const auto& p : pooled)
                for (std::int64_t gene = 0; gene < n_genes; ++gene) {
                    responsibilities(p.counts[gene], p.total * pool_share(gene), r);
                    for (std::size_t j = 0; j < shapes.size(); ++j) next[j] += r[j];
                }
            const double total = std::accumulate(next.begin(), next.end(), 0.0);
            for (std::size_t j = 0; j < shapes.size(); ++j) weight[j] = next[j] / total;
        }
        cal.profile_prior_shapes = shapes;
        cal.profile_prior_weights = weight;
    }
    for (auto& p : pooled) {
        auto& st = p.stage;
        st.log_profile.resize(static_cast<std::size_t>(n_genes));
        for (std::int64_t gene = 0; gene < n_genes; ++gene) {
            const double x = p.counts[gene];
            if (pooled.size() < 2) {
                st.log_profile[gene] = std::log((x + 0.5) / p.total);
                continue;
            }
            const double e = p.total * pool_share(gene);
            responsibilities(x, e, r);
            double share = 0;
            for (std::size_t j = 0; j < shapes.size(); ++j) share += r[j] * pool_share(gene) * (x + shapes[j]) / (e + shapes[j]);
            st.log_profile[gene] = std::log(share);
        }
        cal.stages.push_back(std::move(st));
    }
    if (cal.stages.empty())
        throw Error(fmt::format("{}: no ruler stage has {} or more cells; nothing to calibrate profiles on", source,
                                o.min_cells_per_stage));

    // Donor effects.
    std::vector<std::string> donor_names;
    for (const auto& d : groups.donor)
        if (!d.empty() && std::find(donor_names.begin(), donor_names.end(), d) == donor_names.end()) donor_names.push_back(d);
    cal.n_donors = static_cast<std::int64_t>(donor_names.size());
    if (cal.n_donors >= 2) {
        cal.donor_effects_estimated = true;
        std::map<std::string, std::vector<double>> log_totals_of_donor;
        std::map<std::string, std::int64_t> cells_of_donor;
        for (std::int64_t c = 0; c < n; ++c) {
            if (totals[c] > 0) log_totals_of_donor[donors[c]].push_back(std::log(totals[c]));
            cells_of_donor[donors[c]] += 1;
        }
        std::vector<double> donor_medians;
        for (auto& [d, v] : log_totals_of_donor) donor_medians.push_back(median(v));
        cal.donor_library_sdlog = sample_sd(donor_medians);

        std::map<std::string, std::vector<std::size_t>> groups_of_label;
        for (std::size_t k = 0; k < groups.label.size(); ++k) groups_of_label[groups.label[k]].push_back(k);
        std::vector<double> composition_sds;
        std::vector<double> var_sum(static_cast<std::size_t>(n_genes), 0.0);
        std::vector<std::int64_t> var_n(static_cast<std::size_t>(n_genes), 0);
        for (const auto& [label, ks] : groups_of_label) {
            std::vector<double> log_props;
            for (const auto& d : donor_names) {
                std::int64_t in_label = 0;
                for (const auto k : ks)
                    if (groups.donor[k] == d) in_label = groups.n_cells[k];
                const double nd = static_cast<double>(cells_of_donor[d]);
                log_props.push_back(std::log((static_cast<double>(in_label) + 0.5) / nd));
            }
            composition_sds.push_back(sample_sd(log_props));
            // gene log-folds of each donor against the label's pool, where both sides have cells enough
            std::vector<std::size_t> usable;
            for (const auto k : ks)
                if (groups.n_cells[k] >= 20) usable.push_back(k);
            if (usable.size() < 2) continue;
            double pool_total = 0;
            for (const auto k : usable) pool_total += groups.total[k];
            const double correction = static_cast<double>(usable.size()) / static_cast<double>(usable.size() - 1);
            for (std::int64_t gene = 0; gene < n_genes; ++gene) {
                double pool_counts = 0;
                for (const auto k : usable) pool_counts += groups.counts[k][gene];
                if (pool_counts < 50) continue;
                const double pool_log = std::log((pool_counts + 0.5) / pool_total);
                for (const auto k : usable) {
                    const double xk = groups.counts[k][gene];
                    const double e = std::log((xk + 0.5) / groups.total[k]) - pool_log;
                    const double noise = 1.0 / (xk + 0.5) + (1.0 / cal.theta[gene]) * groups.total_sq[k] /
                                                                (groups.total[k] * groups.total[k]);
                    var_sum[gene] += correction * e * e - noise;
                    var_n[gene] += 1;
                }
            }
        }
        cal.donor_composition_sd = composition_sds.empty() ? 0.0 : median(composition_sds);
        std::vector<double> gene_vars;
        for (std::int64_t gene = 0; gene < n_genes; ++gene)
            if (var_n[gene] > 0) gene_vars.push_back(var_sum[gene] / static_cast<double>(var_n[gene]));
        cal.donor_gene_sd = gene_vars.empty() ? 0.0 : std::sqrt(std::max(0.0, median(gene_vars)));
    }

    within_type_components(x, totals, groups, o, cal);

    // Zero fraction against the mean, observed and as the fitted NB predicts it.
    std::vector<double> predicted(static_cast<std::size_t>(n_genes), 0.0);
    parallel_for(n_genes, 16, 0, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        for (std::int64_t gene = b; gene < e; ++gene) {
            const double theta = cal.theta[gene];
            double zeros = 0;
            for (std::int64_t c = 0; c < n; ++c) {
                const auto k = groups.of_cell[c];
                const double m = totals[c] * groups.counts[k][gene] / std::max(groups.total[k], 1e-300);
                zeros += std::pow(theta / (theta + m), theta);
            }
            predicted[gene] = zeros / static_cast<double>(n);
        }
    });
    constexpr double kBinWidth = 0.25, kLowest = -3.0;
    std::map<int, ZeroFractionBin> bins;
    for (std::int64_t gene = 0; gene < n_genes; ++gene) {
        if (!(gene_total[gene] > 0)) continue;
        const double lm = std::log10(gene_total[gene] / static_cast<double>(n));
        const int b = static_cast<int>(std::floor((std::max(lm, kLowest) - kLowest) / kBinWidth));
        auto& bin = bins[b];
        bin.log10_mean = kLowest + (b + 0.5) * kBinWidth;
        bin.n_genes += 1;
        bin.observed += 1.0 - static_cast<double>(gene_nnz[gene]) / static_cast<double>(n);
        bin.negative_binomial += predicted[gene];
    }
    for (auto& [b, bin] : bins) {
        bin.observed /= static_cast<double>(bin.n_genes);
        bin.negative_binomial /= static_cast<double>(bin.n_genes);
        cal.zero_fraction.push_back(bin);
    }
    return cal;
}

} // namespace scx
