#include "scextract/report/interpret_report.hpp"

#include "scextract/io/svg_plot.hpp"
#include "scextract/report/html_page.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

std::string esc(std::string_view s) { return svg::escape(s); }

std::string num(double v, int decimals = 3) { return std::isnan(v) ? "n/a" : svg::fixed(v, decimals); }

std::string percent(double v) { return std::isnan(v) ? "n/a" : svg::fixed(100.0 * v, 1) + "%"; }

std::string names(const std::vector<std::int64_t>& f) {
    std::vector<std::string> n;
    for (const auto x : f) n.push_back(OperatorFactors::name(x));
    return fmt::format("{}", fmt::join(n, " + "));
}

constexpr const char* kExtraCss = "td.heat { text-align: center; } details { margin: 4px 0; } "
                                  "summary { cursor: pointer; font-weight: bold; } td.genes { white-space: normal; "
                                  "text-align: left; min-width: 240px; max-width: 420px; font-size: 12px; }\n";

std::string header(const Interpretation& i) {
    const auto& a = i.ablation;
    std::string s = "<h1>What the operator knows</h1>\n<p class=\"note\">scextract interpret &middot; " + esc(i.software) + "</p>\n";
    s += "<table>\n";
    const auto row = [&](std::string_view k, const std::string& v) {
        s += fmt::format("<tr><th scope=\"row\">{}</th><td class=\"text\">{}</td></tr>\n", k, v);
    };
    row("algorithm", "<code>" + esc(i.algorithm) + "</code>");
    row("features", esc(i.features));
    row("factors", fmt::format("{} of block {} ({}{})", i.factors.size(), esc(i.factors.block_name), esc(i.factors.form),
                               i.factors.exact ? "" : "; the remainder beyond them stays in every ablation"));
    row("cells scored", fmt::format("{} cells of {} donors in <code>{}</code> (adaptor and readouts frozen)", a.n_cells,
                                    a.n_donors, esc(i.data)));
    s += "</table>\n";
    return s;
}

std::string summary(const Interpretation& i) {
    const auto& a = i.ablation;
    std::string s = "<section id=\"summary\">\n<h2>Impact of each factor</h2>\n";
    s += "<p>Each factor zeroed in turn; impact = sum over endpoints of max(0, intact &minus; ablated); share = impact / "
         "sum of impacts.</p>\n<table>\n<tr>";
    for (const auto& [n, share] : a.top_share) s += fmt::format("<th>top-{} share</th>", n);
    s += "<th>core</th></tr>\n<tr>";
    for (const auto& [n, share] : a.top_share) s += "<td>" + percent(share) + "</td>";
    s += "<td class=\"text\">" + names(a.core) + "</td></tr>\n</table>\n";
    // intact vs core only
    s += "<table>\n<tr><th class=\"text\">endpoint</th><th>intact</th><th>core only</th></tr>\n";
    for (std::size_t e = 0; e < a.endpoints.size(); ++e)
        s += fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>\n", esc(a.endpoints[e].label),
                         num(a.intact[e]), a.subsets.empty() ? "n/a" : num(a.subsets.back().scores.value[e]));
    s += "</table>\n</section>\n";
    return s;
}

std::string impact_figure(const Interpretation& i) {
    const auto& a = i.ablation;
    const auto n = std::min<std::size_t>(a.by_impact.size(), 24);
    const double width = 900, height = 300;
    svg::Document doc(width, height, "fig-impact-svg", "Impact share of each factor");
    double top = 0;
    for (std::size_t k = 0; k < n; ++k) top = std::max(top, std::isnan(a.share[static_cast<std::size_t>(a.by_impact[k])]) ? 0.0 : a.share[static_cast<std::size_t>(a.by_impact[k])]);
    const svg::Panel panel({0, 0, width, height}, {-0.5, static_cast<double>(n) - 0.5}, svg::nice_range({0, std::max(top, 0.01)}),
                           {.left = 60, .right = 12, .top = 38, .bottom = 56});
    svg::AxesSpec axes{.title = "Impact share per factor (largest first)", .y_label = "share of impact", .grid = true};
    for (std::size_t k = 0; k < n; ++k) axes.x_categories.emplace_back(static_cast<double>(k), OperatorFactors::name(a.by_impact[k]));
    axes.x_category_rotate = -45;
    panel.draw_axes(doc, axes);
    for (std::size_t k = 0; k < n; ++k) {
        const auto f = static_cast<std::size_t>(a.by_impact[k]);
        const double v = std::isnan(a.share[f]) ? 0.0 : a.share[f];
        const bool core = std::find(a.core.begin(), a.core.end(), a.by_impact[k]) != a.core.end();
        doc.begin_group("bar", fmt::format("{}: share {}, impact {}", OperatorFactors::name(a.by_impact[k]), percent(v),
                                           num(a.single[f].impact)));
        const double x0 = panel.x(static_cast<double>(k) - 0.38), x1 = panel.x(static_cast<double>(k) + 0.38);
        doc.rect({x0, panel.y(v), x1 - x0, panel.y(0) - panel.y(v)}, core ? svg::palette(0) : "#9aa5b1");
        doc.end_group();
    }
    return doc.finish();
}

/// Colour of a drop from intact: white (none) to red (the largest drop in the table).
std::string heat_colour(double drop, double max_drop) {
    if (std::isnan(drop) || max_drop <= 0) return "#ffffff";
    const double t = std::clamp(drop / max_drop, 0.0, 1.0);
    const auto channel = [&](double from, double to) { return static_cast<int>(std::lround(from + (to - from) * t)); };
    return fmt::format("#{:02x}{:02x}{:02x}", channel(255, 200), channel(255, 40), channel(255, 40));
}

std::string subsets_figure(const Interpretation& i) {
    const auto& a = i.ablation;
    if (a.subsets.empty()) return {};
    std::vector<const CoreSubset*> rows;
    for (const auto& c : a.subsets) rows.push_back(&c);
    std::stable_sort(rows.begin(), rows.end(), [](auto* x, auto* y) { return x->kept.size() < y->kept.size(); });
    const double cell_w = 96, cell_h = 20, left = 190, top = 110;
    const double width = left + cell_w * static_cast<double>(a.endpoints.size()) + 20;
    const double height = top + cell_h * static_cast<double>(rows.size() + 1) + 30;
    svg::Document doc(width, height, "fig-subsets-svg", "Endpoints with only a subset of the core kept");
    doc.text(8, 18, "Core subsets kept alone (all other factors zeroed): endpoint value, shaded by the drop from intact",
             {.size = 12, .bold = true});
    double max_drop = 0;
    for (const auto* c : rows)
        for (std::size_t e = 0; e < a.endpoints.size(); ++e)
            if (!std::isnan(c->scores.value[e]) && !std::isnan(a.intact[e])) max_drop = std::max(max_drop, a.intact[e] - c->scores.value[e]);
    for (std::size_t e = 0; e < a.endpoints.size(); ++e)
        doc.text(left + cell_w * (static_cast<double>(e) + 0.5), top - 6, a.endpoints[e].name,
                 {.anchor = "start", .size = 10, .rotate = -35});
    const auto draw_row = [&](std::size_t r, const std::string& label, const std::vector<double>& v) {
        const double y = top + cell_h * static_cast<double>(r);
        doc.text(left - 6, y + 14, label, {.anchor = "end", .size = 11});
        for (std::size_t e = 0; e < v.size(); ++e) {
            const double x = left + cell_w * static_cast<double>(e);
            doc.begin_group("cell", fmt::format("{} / {}: {}", label, a.endpoints[e].name, num(v[e])));
            doc.rect({x, y, cell_w - 2, cell_h - 2}, heat_colour(a.intact[e] - v[e], max_drop), "#ddd");
            doc.text(x + cell_w / 2, y + 14, num(v[e]), {.anchor = "middle", .size = 10});
            doc.end_group();
        }
    };
    draw_row(0, "all factors (intact)", a.intact);
    for (std::size_t r = 0; r < rows.size(); ++r) draw_row(r + 1, names(rows[r]->kept), rows[r]->scores.value);
    return doc.finish();
}

std::string figure(std::string_view id, const std::string& svg_element, std::string_view caption) {
    return fmt::format("<figure id=\"{}\">\n{}<figcaption>{}</figcaption>\n</figure>\n", id,
                       svg_element.empty() ? "<p class=\"missing\">no data for this figure</p>\n" : svg_element, caption);
}

std::string gene_cell(const Eigen::VectorXd& v, const std::vector<std::string>& genes, std::int64_t n) {
    std::vector<std::string> parts;
    for (const auto& l : top_loadings(v, genes, n)) parts.push_back(fmt::format("{}{}", esc(l.gene), l.loading < 0 ? "&minus;" : "+"));
    return fmt::format("{}", fmt::join(parts, " "));
}

std::string enrichment_cell(const Interpretation& i, std::int64_t f, const std::string& side) {
    if (!i.enrichment) return "<span class=\"note\">no gene sets given</span>";
    std::vector<std::string> parts;
    for (const auto* t : listed_enrichment(*i.enrichment, f, side, i.enrichment_fdr, 3))
        parts.push_back(fmt::format("{}{} ({}/{}, q {})", t->q < i.enrichment_fdr ? "<b>" : "", esc(t->set), t->overlap,
                                    t->set_in_panel, fmt::format("{:.2g}", t->q)) +
                        (t->q < i.enrichment_fdr ? "</b>" : ""));
    return parts.empty() ? "<span class=\"note\">no overlap</span>" : fmt::format("{}", fmt::join(parts, "<br>"));
}

std::string factor_tables(const Interpretation& i) {
    const auto& a = i.ablation;
    std::string s = "<section id=\"factors\">\n<h2>Factors: read genes, write genes, gene programs</h2>\n";
    s += fmt::format("<p>Top {} loadings per side (sign after the gene; read genes are what a cell's expression is "
                     "projected on, write genes where the factor writes into the features). Gene programs: hypergeometric "
                     "test of the top genes against the gene sets, the panel as universe, Benjamini-Hochberg over every "
                     "test; bold: q &lt; {}. Factors in order of impact; the core first.</p>\n",
                     std::min<std::int64_t>(i.top_genes, 25), i.enrichment_fdr);
    s += "<div class=\"wide\"><table>\n<tr><th>factor</th><th>share</th><th class=\"text\">read genes</th><th "
         "class=\"text\">write genes</th><th class=\"text\">read programs</th><th class=\"text\">write programs</th></tr>\n";
    for (std::size_t k = 0; k < a.by_impact.size() && k < 16; ++k) {
        const auto f = a.by_impact[k];
        s += fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"genes\">{}</td><td class=\"genes\">{}</td><td "
                         "class=\"genes\">{}</td><td class=\"genes\">{}</td></tr>\n",
                         OperatorFactors::name(f), percent(a.share[static_cast<std::size_t>(f)]),
                         gene_cell(i.factors.read.col(f), i.factors.genes, std::min<std::int64_t>(i.top_genes, 25)),
                         gene_cell(i.factors.write.col(f), i.factors.genes, std::min<std::int64_t>(i.top_genes, 25)),
                         enrichment_cell(i, f, "read"), enrichment_cell(i, f, "write"));
    }
    s += "</table></div>\n";
    if (a.by_impact.size() > 16)
        s += fmt::format("<p class=\"note\">{} more factors in factors.tsv and enrichment.tsv.</p>\n", a.by_impact.size() - 16);
    return s + "</section>\n";
}

std::string programs_section(const Interpretation& i) {
    if (!i.programs) return {};
    const auto& p = *i.programs;
    std::string s = "<section id=\"programs\">\n<h2>Known programs recovered</h2>\n";
    s += fmt::format("<p>Programs from <code>{}</code>: {} of {} recovered ({}); median best-match Jaccard {}. Each "
                     "program's best match among the read and write gene sets of the leading factors, against random "
                     "panel gene sets of the same size (BH over programs).</p>\n",
                     esc(i.programs_source), p.n_recovered, p.programs.size(), percent(p.fraction_recovered),
                     num(p.median_jaccard));
    s += "<div class=\"wide\"><table>\n<tr><th class=\"text\">program</th><th>genes in panel</th><th>best Jaccard</th>"
         "<th>factor</th><th>null mean</th><th>null 95%</th><th>q</th><th>recovered</th></tr>\n";
    for (const auto& m : p.programs)
        s += fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                         esc(m.program), m.genes_in_panel, num(m.jaccard),
                         m.factor >= 0 ? OperatorFactors::name(m.factor) + " " + m.side : "n/a", num(m.null_mean),
                         num(m.null_q95), fmt::format("{:.3g}", m.q), m.recovered ? "yes" : "no");
    return s + "</table></div>\n</section>\n";
}

} // namespace

std::string render_interpret_report_html(const Interpretation& i) {
    std::string s = report::html_page_head("scextract interpret", kExtraCss) + header(i) + summary(i);
    s += "<section id=\"figures\">\n<h2>Figures</h2>\n";
    s += figure("fig-impact", impact_figure(i),
                "(a) Share of the total impact per factor, largest first (up to 24); blue: the core.");
    s += figure("fig-subsets", subsets_figure(i),
                "(b) Every non-empty subset of the core kept alone, the other factors zeroed: each endpoint's value, "
                "shaded by its drop from the intact operator.");
    s += "</section>\n" + factor_tables(i) + programs_section(i);
    return s + "</body>\n</html>\n";
}

} // namespace scx
