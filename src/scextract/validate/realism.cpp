#include "scextract/validate/realism.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/quantile.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/json_number.hpp"
#include "scextract/io/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scx {

namespace {

double mean_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.empty()) return std::nan("");
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] - b[i]);
    return s / static_cast<double>(a.size());
}

} // namespace

RealismSummary summarize_realism(const CsrMatrix& x, const std::vector<std::string>& symbols,
                                 const std::vector<std::string>& donors, const std::vector<std::string>& markers,
                                 const std::string& name) {
    if (static_cast<std::int64_t>(symbols.size()) != x.n_cols)
        throw Error(fmt::format("{}: {} gene symbols for {} genes", name, symbols.size(), x.n_cols));
    RealismSummary s;
    s.name = name;
    const auto n = x.n_rows;
    const auto n_genes = static_cast<std::size_t>(x.n_cols);
    std::vector<double> sum(n_genes, 0.0), sum_sq(n_genes, 0.0), nnz(n_genes, 0.0), totals(static_cast<std::size_t>(n));
    for (std::int64_t c = 0; c < n; ++c) {
        const auto idx = x.row_indices(c);
        const auto val = x.row_values(c);
        double detected = 0;
        for (std::size_t j = 0; j < idx.size(); ++j) {
            const double v = val[j];
            totals[c] += v;
            sum[idx[j]] += v;
            sum_sq[idx[j]] += v * v;
            if (v > 0) {
                nnz[idx[j]] += 1;
                detected += 1;
            }
        }
        if (totals[c] > 0) s.log10_library.push_back(std::log10(totals[c]));
        s.detected_genes.push_back(detected);
    }
    const double dn = static_cast<double>(std::max<std::int64_t>(n, 1));
    for (std::size_t g = 0; g < n_genes; ++g) {
        if (!(sum[g] > 0)) continue;
        const double mean = sum[g] / dn;
        const double var = std::max(0.0, sum_sq[g] / dn - mean * mean) * dn / std::max(dn - 1.0, 1.0);
        s.log10_gene_mean.push_back(std::log10(mean));
        s.gene_zero_fraction.push_back(1.0 - nnz[g] / dn);
        s.log10_gene_dispersion_index.push_back(var > 0 ? std::log10(var / mean) : std::nan(""));
    }
    if (!donors.empty()) {
        std::map<std::string, std::size_t> index;
        for (const auto& d : donors) index.emplace(d, index.size());
        s.n_donors = static_cast<std::int64_t>(index.size());
        if (s.n_donors >= 2) {
            std::vector<std::vector<double>> bulk(index.size(), std::vector<double>(n_genes, 0.0));
            std::vector<double> bulk_total(index.size(), 0.0);
            for (std::int64_t c = 0; c < n; ++c) {
                const auto k = index[donors[c]];
                const auto idx = x.row_indices(c);
                const auto val = x.row_values(c);
                for (std::size_t j = 0; j < idx.size(); ++j) bulk[k][idx[j]] += val[j];
                bulk_total[k] += totals[c];
            }
            for (std::size_t g = 0; g < n_genes; ++g) {
                if (sum[g] / dn < 0.1) continue;
                std::vector<double> v;
                for (std::size_t k = 0; k < index.size(); ++k)
                    if (bulk_total[k] > 0) v.push_back(std::log((bulk[k][g] + 0.5) / bulk_total[k] * 1e4));
                if (v.size() < 2) continue;
                double m = 0, ss = 0;
                for (const double y : v) m += y / static_cast<double>(v.size());
                for (const double y : v) ss += (y - m) * (y - m);
                s.donor_log_sd.push_back(std::sqrt(ss / static_cast<double>(v.size() - 1)));
            }
        }
    }
    std::unordered_map<std::string, std::size_t> gene_of;
    for (std::size_t g = 0; g < n_genes; ++g) gene_of.emplace(symbols[g], g);
    for (const auto& m : markers) {
        const auto it = gene_of.find(m);
        if (it == gene_of.end() || std::find(s.markers.begin(), s.markers.end(), m) != s.markers.end()) continue;
        s.markers.push_back(m);
        s.marker_detection.push_back(nnz[it->second] / dn);
    }
    return s;
}

double ks_distance(std::vector<double> a, std::vector<double> b) {
    std::erase_if(a, [](double v) { return !std::isfinite(v); });
    std::erase_if(b, [](double v) { return !std::isfinite(v); });
    if (a.empty() || b.empty()) return std::nan("");
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::size_t i = 0, j = 0;
    double d = 0;
    while (i < a.size() && j < b.size()) {
        const double v = std::min(a[i], b[j]);
        while (i < a.size() && a[i] == v) ++i;
        while (j < b.size() && b[j] == v) ++j;
        d = std::max(d, std::fabs(static_cast<double>(i) / a.size() - static_cast<double>(j) / b.size()));
    }
    return d;
}

double binned_curve_distance(const std::vector<double>& xa, const std::vector<double>& ya,
                             const std::vector<double>& xb, const std::vector<double>& yb, double width) {
    const auto bins = [width](const std::vector<double>& x, const std::vector<double>& y) {
        std::map<long, std::vector<double>> out;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (std::isfinite(x[i]) && std::isfinite(y[i])) out[std::lround(std::floor(x[i] / width))].push_back(y[i]);
        return out;
    };
    const auto a = bins(xa, ya), b = bins(xb, yb);
    double s = 0;
    int shared = 0;
    for (const auto& [k, va] : a) {
        const auto it = b.find(k);
        if (it == b.end() || va.size() < 3 || it->second.size() < 3) continue;
        s += std::fabs(median(va) - median(it->second));
        ++shared;
    }
    return shared ? s / shared : std::nan("");
}

RealismComparison compare_realism(RealismSummary sim, RealismSummary real) {
    RealismComparison c;
    const auto distribution = [&](std::string name, std::string description, const std::vector<double>& a,
                                  const std::vector<double>& b, std::string note_if_empty) {
        RealismStatistic st{std::move(name), std::move(description), "KS", ks_distance(a, b),
                            static_cast<std::int64_t>(a.size()), static_cast<std::int64_t>(b.size()),
                            median(a), median(b), ""};
        if (!std::isfinite(st.value)) st.note = std::move(note_if_empty);
        c.statistics.push_back(std::move(st));
    };
    const auto curve = [&](std::string name, std::string description, const std::vector<double>& ya,
                           const std::vector<double>& yb) {
        RealismStatistic st{std::move(name), std::move(description), "mean |difference|",
                            binned_curve_distance(sim.log10_gene_mean, ya, real.log10_gene_mean, yb),
                            static_cast<std::int64_t>(ya.size()), static_cast<std::int64_t>(yb.size()),
                            median(ya), median(yb), ""};
        if (!std::isfinite(st.value)) st.note = "no mean bin holds genes of both sets";
        c.statistics.push_back(std::move(st));
    };
    distribution("library_size", "log10 total counts per cell", sim.log10_library, real.log10_library, "no counts");
    distribution("detected_genes", "genes with a count per cell", sim.detected_genes, real.detected_genes, "no cells");
    curve("zero_fraction_vs_mean", "zero fraction per gene, binned by log10 mean (bins of 0.25)",
          sim.gene_zero_fraction, real.gene_zero_fraction);
    curve("mean_variance", "log10(variance / mean) per gene, binned by log10 mean (bins of 0.25)",
          sim.log10_gene_dispersion_index, real.log10_gene_dispersion_index);
    distribution("donor_effect", "sd across donors of log pseudo-bulk counts per 10k, per gene (mean >= 0.1)",
                 sim.donor_log_sd, real.donor_log_sd, "needs two or more donors in both sets");
    // markers both sets hold, in the simulated set's order
    std::vector<double> a, b;
    for (std::size_t i = 0; i < sim.markers.size(); ++i) {
        const auto it = std::find(real.markers.begin(), real.markers.end(), sim.markers[i]);
        if (it == real.markers.end()) continue;
        a.push_back(sim.marker_detection[i]);
        b.push_back(real.marker_detection[it - real.markers.begin()]);
    }
    RealismStatistic markers{"marker_detection", "fraction of cells detecting each known stage marker both sets hold",
                             "mean |difference|", mean_abs_difference(a, b), static_cast<std::int64_t>(a.size()),
                             static_cast<std::int64_t>(b.size()), median(a), median(b), ""};
    if (a.empty()) markers.note = "no marker in both sets";
    c.statistics.push_back(std::move(markers));
    c.simulated = std::move(sim);
    c.real = std::move(real);
    return c;
}

namespace {

std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "NA"; }

/// Empirical CDFs of both sets on one panel.
void draw_ecdf(svg::Document& doc, const svg::Rect& cell, const std::vector<double>& a, const std::vector<double>& b,
               const svg::AxesSpec& spec) {
    std::vector<double> all = a;
    all.insert(all.end(), b.begin(), b.end());
    const svg::Panel panel(cell, svg::nice_range(svg::finite_range(all)), {0, 1});
    panel.draw_axes(doc, spec);
    if (a.empty() || b.empty()) {
        panel.draw_note(doc, "not available");
        return;
    }
    int colour = 0;
    for (const auto* v : {&a, &b}) {
        std::vector<double> s = *v;
        std::erase_if(s, [](double x) { return !std::isfinite(x); });
        std::sort(s.begin(), s.end());
        std::vector<std::pair<double, double>> pts;
        const std::size_t step = std::max<std::size_t>(1, s.size() / 400); // bounded file size
        for (std::size_t i = 0; i < s.size(); i += step)
            pts.emplace_back(panel.x(s[i]), panel.y(static_cast<double>(i + 1) / static_cast<double>(s.size())));
        if (!s.empty()) pts.emplace_back(panel.x(s.back()), panel.y(1.0));
        doc.polyline(pts, svg::palette(colour++), 1.8);
    }
}

void draw_scatter(svg::Document& doc, const svg::Rect& cell, const std::vector<double>& xa, const std::vector<double>& ya,
                  const std::vector<double>& xb, const std::vector<double>& yb, const svg::AxesSpec& spec,
                  bool diagonal = false) {
    std::vector<double> xs = xa, ys = ya;
    xs.insert(xs.end(), xb.begin(), xb.end());
    ys.insert(ys.end(), yb.begin(), yb.end());
    const auto xr = svg::nice_range(svg::finite_range(xs)), yr = svg::nice_range(svg::finite_range(ys));
    const svg::Panel panel(cell, diagonal ? svg::Range{0, 1} : xr, diagonal ? svg::Range{0, 1} : yr);
    panel.draw_axes(doc, spec);
    if (xs.empty()) {
        panel.draw_note(doc, "not available");
        return;
    }
    if (diagonal) doc.line(panel.x(0), panel.y(0), panel.x(1), panel.y(1), "#999", 1, "4 3");
    int colour = 0;
    for (const auto& [x, y] : {std::pair{&xa, &ya}, std::pair{&xb, &yb}}) {
        const std::size_t step = std::max<std::size_t>(1, x->size() / 600); // bounded file size
        for (std::size_t i = 0; i < x->size(); i += step)
            if (std::isfinite((*x)[i]) && std::isfinite((*y)[i]))
                doc.circle(panel.x((*x)[i]), panel.y((*y)[i]), 1.8, svg::palette(colour), 0.45);
        ++colour;
    }
}

std::string realism_svg(const RealismComparison& c) {
    constexpr double kW = 330, kH = 260, kTop = 44;
    svg::Document doc(3 * kW, 2 * kH + kTop, "realism", "simulated vs real counts");
    const auto& s = c.simulated;
    const auto& r = c.real;
    const auto subtitle = [&](std::size_t i) {
        const auto& st = c.statistics[i];
        return fmt::format("{} = {}", st.distance, number(st.value));
    };
    draw_ecdf(doc, svg::grid_cell(0, 3, kW, kH, kTop), s.log10_library, r.log10_library,
              {.title = "Library size", .subtitle = subtitle(0), .x_label = "log10 total counts", .y_label = "ECDF"});
    draw_ecdf(doc, svg::grid_cell(1, 3, kW, kH, kTop), s.detected_genes, r.detected_genes,
              {.title = "Detected genes per cell", .subtitle = subtitle(1), .x_label = "genes with a count",
               .y_label = "ECDF"});
    draw_scatter(doc, svg::grid_cell(2, 3, kW, kH, kTop), s.log10_gene_mean, s.gene_zero_fraction, r.log10_gene_mean,
                 r.gene_zero_fraction,
                 {.title = "Zero fraction vs mean", .subtitle = subtitle(2), .x_label = "log10 mean counts per cell",
                  .y_label = "zero fraction"});
    draw_scatter(doc, svg::grid_cell(3, 3, kW, kH, kTop), s.log10_gene_mean, s.log10_gene_dispersion_index,
                 r.log10_gene_mean, r.log10_gene_dispersion_index,
                 {.title = "Mean-variance", .subtitle = subtitle(3), .x_label = "log10 mean counts per cell",
                  .y_label = "log10 variance / mean"});
    draw_ecdf(doc, svg::grid_cell(4, 3, kW, kH, kTop), s.donor_log_sd, r.donor_log_sd,
              {.title = "Donor effects", .subtitle = subtitle(4), .x_label = "sd across donors, log CP10k",
               .y_label = "ECDF"});
    std::vector<double> a, b;
    for (std::size_t i = 0; i < s.markers.size(); ++i) {
        const auto it = std::find(r.markers.begin(), r.markers.end(), s.markers[i]);
        if (it == r.markers.end()) continue;
        a.push_back(s.marker_detection[i]);
        b.push_back(r.marker_detection[it - r.markers.begin()]);
    }
    draw_scatter(doc, svg::grid_cell(5, 3, kW, kH, kTop), b, a, {}, {},
                 {.title = "Marker detection rates", .subtitle = subtitle(5), .x_label = "real: fraction of cells",
                  .y_label = "simulated: fraction of cells"},
                 true);
    svg::draw_legend(doc, 6, 2,
                     {{"simulated: " + s.name, svg::palette(0), true}, {"real: " + r.name, svg::palette(1), true}});
    return doc.finish();
}

} // namespace

void write_realism_report(const RealismComparison& c, const std::string& directory) {
    const std::filesystem::path dir(directory);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(fmt::format("{}: cannot create the output folder ({})", directory, ec.message()));
    std::string tsv = "statistic\tdistance\tvalue\tn_simulated\tn_real\tmedian_simulated\tmedian_real\tdescription\tnote\n";
    nlohmann::ordered_json j;
    j["simulated"] = c.simulated.name;
    j["real"] = c.real.name;
    for (const auto& st : c.statistics) {
        tsv += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", st.name, st.distance, number(st.value), st.n_simulated,
                           st.n_real, number(st.median_simulated), number(st.median_real), st.description, st.note);
        nlohmann::ordered_json row;
        row["distance"] = st.distance;
        row["value"] = json_number_or_null(st.value);
        row["n_simulated"] = st.n_simulated;
        row["n_real"] = st.n_real;
        row["median_simulated"] = json_number_or_null(st.median_simulated);
        row["median_real"] = json_number_or_null(st.median_real);
        row["description"] = st.description;
        if (!st.note.empty()) row["note"] = st.note;
        j["statistics"][st.name] = row;
    }
    write_text_atomically(dir / "realism.tsv", tsv);
    write_text_atomically(dir / "realism.json", j.dump(2) + "\n");
    write_text_atomically(dir / "realism.svg",
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + realism_svg(c) + "\n");
}

} // namespace scx
