#include "scextract/report/bench_report.hpp"

#include "scextract/report/bench_report_chain.hpp"
#include "scextract/report/bench_report_figures.hpp"
#include "scextract/report/html_page.hpp"
#include "scextract/report/min_attainable_p.hpp"
#include "scextract/io/svg_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace report {
namespace {

constexpr const char* kPlusMinus = " \u00b1 ";
constexpr const char* kNotApplicable = "n/a";

std::string esc(std::string_view s) { return svg::escape(s); }

std::string number(double v, int decimals = 3) { return svg::fixed(v, decimals); }

std::string number_or_na(const std::optional<double>& v, int decimals = 3) {
    return v ? number(*v, decimals) : kNotApplicable;
}

/// p- and q-values: three significant digits, so small ones stay readable.
std::string p_value(const std::optional<double>& p) { return p ? fmt::format("{:.3g}", *p) : kNotApplicable; }

/// 18240 -> "18,240"
std::string grouped(std::int64_t v) {
    const auto digits = std::to_string(v);
    const std::size_t sign = v < 0 ? 1 : 0;
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > sign && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string class_badge(PseudotimeClass c) {
    const auto name = to_string(c);
    return fmt::format("<span class=\"cls cls-{0}\">{1}</span>", name,
                       c == PseudotimeClass::none ? "no pseudotime" : fmt::format("{} pseudotime", name));
}

std::string method_cell(const Results& r, const Method& m) {
    return fmt::format("<th scope=\"row\" title=\"{}\">{}{}</th>", esc(m.description), esc(m.name),
                       m.name == r.reference ? " <span class=\"ref\">reference</span>" : "");
}

// ---- summary statistics ----

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto mid = v.size() / 2;
    return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// ---- header and summary ----

/// The manifold picker shows one panel, the one whose method and colouring radios are both
/// checked: CSS only (the page carries no script), one rule per method x colouring.
constexpr std::array<std::pair<ManifoldColouring, const char*>, 3> kColourings = {{
    {ManifoldColouring::label, "label"}, {ManifoldColouring::predicted_stage, "predicted"}, {ManifoldColouring::true_stage, "stage"}}};

std::vector<ManifoldColouring> manifold_colourings(const Results& r) {
    std::vector<ManifoldColouring> out;
    for (const auto& [c, key] : kColourings)
        if (c == ManifoldColouring::true_stage ||
            std::any_of(r.figures.manifolds.begin(), r.figures.manifolds.end(),
                        [&](const ManifoldView& v) { return manifold_has_colouring(v, c); }))
            out.push_back(c);
    return out;
}

const char* colouring_key(ManifoldColouring c) {
    for (const auto& [k, key] : kColourings)
        if (k == c) return key;
    return "stage";
}

std::string page_css(const Results& r) {
    std::string css =
        "div.wide table { margin-top: 0; } code { overflow-wrap: anywhere; }\n"
        "p.warn { background: #fff4e0; border-left: 4px solid #e69f00; padding: 6px 10px; }\n"
        ".picker { margin: 4px 0; font-size: 13px; } .picker b { display: inline-block; min-width: 80px; }\n"
        ".picker label { margin-right: 12px; } .mf-panel { display: none; }\n"
        "table.endpoints th, table.endpoints td { padding: 3px 5px; } table.endpoints td { white-space: normal; min-width: 44px; }\n"
        "table.endpoints th .cls { white-space: normal; }\n"
        ".confusions { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: flex-start; }\n"
        "table.confusion caption { text-align: left; font-size: 12px; color: #444; caption-side: top; }\n"
        "table.confusion td { min-width: 24px; } table.confusion td.diag { font-weight: bold; outline: 1px solid #0b5d1e; }\n"
        "table.confusion th.rot { vertical-align: bottom; max-width: 28px; padding: 2px; }\n"
        "table.confusion th.rot span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-weight: normal; }\n";
    for (std::size_t i = 0; i < r.figures.manifolds.size(); ++i)
        for (const auto c : manifold_colourings(r))
            css += fmt::format("#mf-m-{0}:checked ~ #mf-c-{1}:checked ~ .mf-panels > .mf-{0}-{1} {{ display: block; }}\n", i,
                               colouring_key(c));
    return css;
}

std::string page_head(const Results& r) { return html_page_head("scextract benchmark report", page_css(r)); }

std::string header_section(const Results& r) {
    return fmt::format(
        "<h1>scextract benchmark report</h1>\n"
        "<p class=\"note\">scextract {} &middot; <code>{}</code> &middot; reference method: <b>{}</b></p>\n"
        "<p>Every method is trained on the same donor-holdout splits and scored on the held-out donors' cells. "
        "Pseudotimes come in two classes, labelled in every table: <b>supervised</b> (a readout trained on ruler "
        "depth) and <b>unsupervised</b> (no depth labels); depth correlations are compared only within a class. "
        "An endpoint whose labels are absent is reported as not applicable ({}), never as zero.</p>\n",
        esc(r.scextract_version), esc(r.command), esc(r.reference), kNotApplicable);
}

std::string key_value_row(std::string_view key, const std::string& value_html) {
    return fmt::format("<tr><th scope=\"row\">{}</th><td class=\"text\">{}</td></tr>\n", esc(key), value_html);
}

std::string dataset_section(const Results& r) {
    const auto& d = r.dataset;
    const auto& s = r.splits;
    std::string out = "<section id=\"dataset\">\n<h2>Dataset and splits</h2>\n<div class=\"wide\"><table class=\"summary\">\n";
    out += key_value_row("data", fmt::format("<code>{}</code>", esc(d.path)));
    out += key_value_row("cells \u00d7 genes", fmt::format("{} &times; {} ({} panel genes)", grouped(d.n_cells),
                                                             grouped(d.n_genes), grouped(d.panel_genes)));
    out += key_value_row("donors, tissues", fmt::format("{} donors (obs['{}']), {} tissues{}", d.n_donors,
                                                        esc(d.donor_key), d.n_tissues,
                                                        d.tissue_key ? fmt::format(" (obs['{}'])", esc(*d.tissue_key))
                                                                     : std::string(" (no tissue column)")));
    out += key_value_row("labels", fmt::format("obs['{}']", esc(d.label_key)));
    out += key_value_row("values", d.input_kind == "lognorm"
                                       ? "log-normalised (log1p of counts normalised per cell); the methods read expm1 of "
                                         "them, and raw-count models (scVI) cannot run"
                                       : "raw counts");
    if (!d.unmapped_labels.empty()) {
        std::vector<std::string> off;
        std::int64_t cells = 0;
        for (const auto& [label, n] : d.unmapped_labels) off.push_back(fmt::format("{} ({})", esc(label), n)), cells += n;
        out += key_value_row("left out", fmt::format("{} cells whose labels map to no ruler stage: {}", grouped(cells),
                                                     fmt::join(off, ", ")));
    }
    out += key_value_row("splits", fmt::format("{} splits, {} test donors each, training cells capped at {}, seed {}",
                                               s.n, s.test_donors_per_split, grouped(s.max_train_cells), s.seed));
    std::vector<std::string> donors;
    for (const auto& x : s.distinct_test_donors) donors.push_back(esc(x));
    out += key_value_row("distinct test donors",
                         fmt::format("{}: {}", donors.size(), fmt::join(donors, ", ")));
    out += "</table></div>\n";
    if (d.split_unit != "donors")
        out += fmt::format("<p class=\"warn\"><b>No donors: the statistics are over folds of cells.</b> {}.</p>\n",
                           esc(d.split_unit_note));
    if (!s.list.empty()) {
        out += "<div class=\"wide\"><table class=\"splits\">\n<thead><tr><th>split</th><th class=\"text\">test donors</th>"
               "<th>training cells</th><th>test cells</th></tr></thead>\n<tbody>\n";
        for (const auto& sp : s.list) {
            std::vector<std::string> td;
            for (const auto& x : sp.test_donors) td.push_back(esc(x));
            out += fmt::format("<tr><td>{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td></tr>\n", sp.index,
                               fmt::join(td, ", "), grouped(sp.n_train), grouped(sp.n_test));
        }
        out += "</tbody>\n</table></div>\n";
    }
    out += fmt::format("<details><summary>configuration</summary>\n<pre>{}</pre>\n</details>\n</section>\n",
                       esc(r.config.dump(2)));
    return out;
}

// ---- endpoint table ----

/// A column of the endpoint table: an endpoint, and for pseudotime endpoints one class.
struct Column {
    const Endpoint* endpoint;
    std::optional<PseudotimeClass> pseudotime_class;
};

std::vector<Column> endpoint_columns(const Results& r) {
    std::vector<Column> cols;
    for (const auto& e : r.endpoints) {
        if (is_pseudotime_endpoint(e.name)) {
            cols.push_back({&e, PseudotimeClass::supervised});
            cols.push_back({&e, PseudotimeClass::unsupervised});
        } else {
            cols.push_back({&e, std::nullopt});
        }
    }
    return cols;
}

/// One cell: a summary, or why there is none.
struct Cell {
    ScoreSummary summary;
    std::string missing_reason; ///< empty when the cell holds a value
    bool other_class = false;   ///< the method's pseudotime is of the column's other class
};

Cell endpoint_cell(const Results& r, const Method& m, const Column& col) {
    Cell c;
    if (col.pseudotime_class) {
        if (m.pseudotime_class == PseudotimeClass::none) {
            c.missing_reason = "the method has no pseudotime";
            return c;
        }
        if (m.pseudotime_class != *col.pseudotime_class) {
            c.other_class = true;
            c.missing_reason = fmt::format("{} pseudotime: see the {} column", to_string(m.pseudotime_class),
                                           to_string(m.pseudotime_class));
            return c;
        }
    }
    c.summary = summarise_scores(r.split_scores(m.name, col.endpoint->name));
    if (c.summary.present == 0) c.missing_reason = "not applicable on any split (labels absent)";
    return c;
}

std::string cell_html(const Cell& c, bool best) {
    if (c.other_class) return fmt::format("<td class=\"other\" title=\"{}\"></td>", esc(c.missing_reason));
    if (!c.missing_reason.empty())
        return fmt::format("<td class=\"na\" title=\"{}\">{}</td>", esc(c.missing_reason), kNotApplicable);
    auto text = number(c.summary.mean);
    // a no-break space keeps "± sd" together, so a narrow column wraps only before the ±
    if (c.summary.present > 1) text += " \u00b1\u00a0" + number(c.summary.sd);
    if (c.summary.present < c.summary.total) text += fmt::format(" ({}/{})", c.summary.present, c.summary.total);
    return fmt::format("<td{}>{}</td>", best ? " class=\"best\"" : "", text);
}

std::string endpoint_table(const Results& r) {
    const auto cols = endpoint_columns(r);
    const bool split_header = std::any_of(cols.begin(), cols.end(), [](const Column& c) { return c.pseudotime_class; });
    std::vector<std::vector<Cell>> cells; // [method][column]
    for (const auto& m : r.methods) {
        cells.emplace_back();
        for (const auto& c : cols) cells.back().push_back(endpoint_cell(r, m, c));
    }
    // The best mean per column; pseudotime columns hold one class, so the best is within it.
    std::vector<std::optional<double>> best(cols.size());
    for (std::size_t j = 0; j < cols.size(); ++j)
        for (const auto& row : cells) {
            if (!row[j].missing_reason.empty()) continue;
            const double v = row[j].summary.mean;
            if (!best[j] || (cols[j].endpoint->higher_is_better ? v > *best[j] : v < *best[j])) best[j] = v;
        }

    const char* span = split_header ? " rowspan=\"2\"" : "";
    std::string out = fmt::format("<div class=\"wide\"><table class=\"endpoints\">\n<thead><tr><th{0} class=\"text\">method</th>"
                                  "<th{0} class=\"text\">pseudotime class</th>",
                                  span);
    std::string second_row;
    for (std::size_t j = 0; j < cols.size(); ++j) {
        const auto& e = *cols[j].endpoint;
        const auto arrow = e.higher_is_better ? "&uarr;" : "&darr;";
        if (!cols[j].pseudotime_class) {
            out += fmt::format("<th{} title=\"{}\">{} {}</th>", span, esc(e.name), esc(e.label), arrow);
        } else if (*cols[j].pseudotime_class == PseudotimeClass::supervised) {
            out += fmt::format("<th colspan=\"2\" title=\"{}\">{} {}</th>", esc(e.name), esc(e.label), arrow);
        }
        if (cols[j].pseudotime_class)
            second_row += fmt::format("<th>{}</th>", class_badge(*cols[j].pseudotime_class));
    }
    out += "</tr>\n";
    if (split_header) out += "<tr>" + second_row + "</tr>\n";
    out += "</thead>\n<tbody>\n";
    for (std::size_t i = 0; i < r.methods.size(); ++i) {
        out += "<tr>" + method_cell(r, r.methods[i]) +
               fmt::format("<td class=\"text\">{}</td>", class_badge(r.methods[i].pseudotime_class));
        for (std::size_t j = 0; j < cols.size(); ++j) {
            const auto& c = cells[i][j];
            const bool is_best = c.missing_reason.empty() && best[j] && std::abs(c.summary.mean - *best[j]) <= 1e-12;
            out += cell_html(c, is_best);
        }
        out += "</tr>\n";
    }
    return out + "</tbody>\n</table></div>\n";
}

/// Endpoints with no value for any method, named so their absence is explicit.
std::string not_applicable_note(const Results& r) {
    std::vector<std::string> names;
    for (const auto& e : r.endpoints) {
        const bool any = std::any_of(r.scores.begin(), r.scores.end(),
                                     [&](const Score& s) { return s.endpoint == e.name && s.value; });
        if (!any) names.push_back(esc(e.label));
    }
    if (names.empty()) return {};
    return fmt::format("<p class=\"note\">Not applicable in this run (no method has a value; the labels are absent): "
                       "{}.</p>\n",
                       fmt::join(names, "; "));
}

std::string endpoints_section(const Results& r) {
    return fmt::format(
        "<section id=\"endpoints\">\n<h2>Endpoints</h2>\n"
        "<p class=\"note\">Mean {}sd over the {} splits of each split's mean over its held-out donors; "
        "(k/n): only k of n splits had a value. Best per column in bold; pseudotime endpoints have one column per "
        "class, so their best is within a class. {}: not applicable.</p>\n{}{}</section>\n",
        kPlusMinus, r.splits.n, kNotApplicable, endpoint_table(r), not_applicable_note(r));
}

// ---- comparisons ----

/// The units each test pairs: the largest n of the reference comparisons in @p unit, or the
/// run's splits / distinct test donors when there are none.
std::int64_t units_of(const Results& r, ComparisonUnit unit) {
    std::int64_t n = 0;
    for (const auto& c : r.comparisons)
        if (c.unit == unit) n = std::max(n, c.n);
    if (n > 0) return n;
    return unit == ComparisonUnit::splits ? r.splits.n : static_cast<std::int64_t>(r.splits.distinct_test_donors.size());
}

} // namespace

std::string attainable_p_note(const Results& r) {
    std::string out;
    bool none_possible = false;
    for (const auto unit : {ComparisonUnit::splits, ComparisonUnit::donors}) {
        const auto n = units_of(r, unit);
        const double p = min_attainable_wilcoxon_p(n);
        const char* name = unit == ComparisonUnit::splits ? "splits" : "distinct held-out donors";
        const auto bound = n <= 50 ? fmt::format("2/2<sup>{}</sup> = {}", n, p_value(p)) : p_value(p);
        if (p >= r.fdr) {
            none_possible = true;
            out += fmt::format("<li class=\"unreachable\">Over the {} {}: the smallest attainable p is {}, not below the "
                               "threshold {}. <b>No comparison over {} can be significant, whatever the data</b> "
                               "(a q-value is never below its p).</li>\n",
                               n, name, bound, p_value(r.fdr), unit == ComparisonUnit::splits ? "splits" : "donors");
        } else {
            out += fmt::format("<li>Over the {} {}: the smallest attainable p is {} (threshold {}).</li>\n", n, name, bound,
                               p_value(r.fdr));
        }
    }
    return fmt::format("<div class=\"attainable-p\"><p class=\"{}\">With few pairs the paired two-sided Wilcoxon "
                       "signed-rank test has a floor: with n pairs and none tied at zero, the most extreme outcome (all "
                       "differences of one sign) has p = 2/2<sup>n</sup> (fewer pairs when differences are zero, so a "
                       "higher floor).</p>\n<ul class=\"note\">\n{}</ul></div>\n",
                       none_possible ? "warn" : "note", out);
}

namespace {

std::string comparison_row(const Results& r, const Comparison& c) {
    const auto* m = r.find_method(c.method);
    const bool cross = r.across_classes(c);
    const bool tested = c.test != "none" && c.p;
    std::optional<double> diff;
    if (c.mean_method && c.mean_reference) diff = *c.mean_method - *c.mean_reference;

    std::string significance;
    if (!tested) significance = "not tested";
    else significance = c.significant ? "yes " + significance_mark(c.q, c.unit) : "no";
    if (cross) significance += " <span class=\"note\">(cross-class: not a headline)</span>";

    std::string reference_note;
    if (c.reference != r.reference) reference_note = fmt::format(" <span class=\"ref\">vs {}</span>", esc(c.reference));
    return fmt::format("<tr{}><th scope=\"row\">{}{}</th><td class=\"text\">{}</td><td class=\"text\">{}</td>"
                       "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                       "<td class=\"text\">{}</td><td class=\"text sigcell\">{}</td></tr>\n",
                       c.significant && !cross ? " class=\"sig\"" : "", esc(c.method), reference_note,
                       m ? class_badge(m->pseudotime_class) : "", c.unit == ComparisonUnit::splits ? "splits" : "donors",
                       c.n, number_or_na(c.mean_reference), number_or_na(c.mean_method), number_or_na(diff),
                       number_or_na(c.median_difference), c.statistic ? number(*c.statistic, 1) : kNotApplicable,
                       p_value(c.p), p_value(c.q), esc(c.test), significance);
}

std::string comparisons_section(const Results& r) {
    const auto* ref = r.find_method(r.reference);
    std::string out = fmt::format(
        "<section id=\"comparisons\">\n<h2>Comparisons with the reference ({} {})</h2>\n"
        "<p class=\"note\">Paired two-sided Wilcoxon signed-rank tests of each method against the reference, over "
        "splits and over distinct held-out donors; the test column says whether the exact null distribution or "
        "the normal approximation was used. q: Benjamini-Hochberg over all endpoints and comparisons within a "
        "unit; significant: q &lt; 0.05 (marks: * / ** over splits, &dagger; / &dagger;&dagger; over donors, for "
        "q &lt; 0.05 / 0.01). &Delta; = method &minus; reference. Pseudotime comparisons across classes are shown "
        "but are not headline claims.</p>\n",
        esc(r.reference), ref ? class_badge(ref->pseudotime_class) : "");
    out += attainable_p_note(r);
    out += "<div class=\"wide\"><table class=\"comparisons\">\n<thead><tr><th class=\"text\">method</th>"
           "<th class=\"text\">class</th><th class=\"text\">unit</th>"
           "<th title=\"pairs (splits or donors) with both values\">n</th>"
           "<th title=\"reference mean\"><abbr>ref. mean</abbr></th><th title=\"method mean\"><abbr>meth. mean</abbr></th>"
           "<th title=\"method mean minus reference mean\">&Delta; mean</th>"
           "<th title=\"median of the paired differences\"><abbr>med. &Delta;</abbr></th>"
           "<th title=\"Wilcoxon signed-rank statistic\">W</th><th>p</th>"
           "<th title=\"Benjamini-Hochberg q\">q</th><th class=\"text\" title=\"exact, permutation or normal null\">test</th>"
           "<th class=\"text\" title=\"significant: q below the threshold\"><abbr>sig.</abbr></th></tr></thead>\n";
    const auto method_rank = [&](const std::string& name) {
        for (std::size_t i = 0; i < r.methods.size(); ++i)
            if (r.methods[i].name == name) return i;
        return r.methods.size();
    };
    for (const auto& e : r.endpoints) {
        std::vector<const Comparison*> rows;
        for (const auto& c : r.comparisons)
            if (c.kind == "reference" && c.endpoint == e.name) rows.push_back(&c);
        if (rows.empty()) continue;
        std::stable_sort(rows.begin(), rows.end(), [&](const auto* a, const auto* b) {
            return std::tuple(method_rank(a->method), a->unit, method_rank(a->reference)) <
                   std::tuple(method_rank(b->method), b->unit, method_rank(b->reference));
        });
        out += fmt::format("<tbody>\n<tr class=\"group\"><th colspan=\"13\">{} <span class=\"ref\">{}</span></th></tr>\n",
                           esc(e.label), esc(e.name));
        for (const auto* c : rows) out += comparison_row(r, *c);
        out += "</tbody>\n";
    }
    if (std::none_of(r.comparisons.begin(), r.comparisons.end(), [](const Comparison& c) { return c.kind == "reference"; }))
        out += "<tbody><tr><td colspan=\"13\" class=\"na\">no comparisons</td></tr></tbody>\n";
    return out + "</table></div>\n</section>\n";
}

// ---- ladder and controls (comparisons between named pairs) ----

const Comparison* find_pair(const Results& r, std::string_view kind, std::string_view method, std::string_view endpoint,
                            ComparisonUnit unit) {
    for (const auto& c : r.comparisons)
        if (c.kind == kind && c.method == method && c.endpoint == endpoint && c.unit == unit) return &c;
    return nullptr;
}

/// Marks of the significant changes of @p method against its pair, over splits and donors.
std::string pair_marks(const Results& r, std::string_view kind, std::string_view method, const Endpoint& e) {
    std::string marks;
    std::string_view dir;
    for (const auto unit : {ComparisonUnit::splits, ComparisonUnit::donors}) {
        const auto* c = find_pair(r, kind, method, e.name, unit);
        if (c == nullptr || !c->significant) continue;
        marks += significance_mark(c->q, unit);
        dir = comparison_direction(*c, e);
    }
    if (marks.empty()) return {};
    return fmt::format(" <span class=\"{}\">{}{}</span>", dir, dir == "better" ? "&#9650;" : "&#9660;", marks);
}

std::string ladder_section(const Results& r) {
    std::vector<const Method*> rungs;
    std::vector<std::string> against(r.methods.size());
    for (std::size_t i = 0; i < r.methods.size(); ++i)
        for (const auto& c : r.comparisons)
            if (c.kind == "ladder" && (c.method == r.methods[i].name || c.reference == r.methods[i].name)) {
                if (rungs.empty() || rungs.back() != &r.methods[i]) rungs.push_back(&r.methods[i]);
                if (c.method == r.methods[i].name) against[rungs.size() - 1] = c.reference;
            }
    if (rungs.empty()) return {};
    std::string out = fmt::format(
        "<section id=\"ladder\">\n<h2>Ablation ladder</h2>\n"
        "<p class=\"note\">Each rung changes one step of the pipeline against the rung it names (by default the row "
        "above). Cells: mean over the {} splits. Marks: a significant change against that rung (paired two-sided "
        "Wilcoxon, Benjamini-Hochberg over all ladder comparisons within a unit): &#9650; better, &#9660; worse; "
        "* / ** over splits, &dagger; / &dagger;&dagger; over distinct held-out donors (q &lt; 0.05 / 0.01). "
        "Read down a column to see at which step an endpoint is lost.</p>\n"
        "<div class=\"wide\"><table class=\"ladder\">\n<thead><tr><th class=\"text\">rung</th><th class=\"text\">against</th>",
        r.splits.n);
    for (const auto& e : r.endpoints)
        out += fmt::format("<th title=\"{}\">{} {}</th>", esc(e.name), esc(e.label), e.higher_is_better ? "&uarr;" : "&darr;");
    out += "</tr></thead>\n<tbody>\n";
    for (std::size_t i = 0; i < rungs.size(); ++i) {
        const auto& m = *rungs[i];
        out += fmt::format("<tr><th scope=\"row\" class=\"text\" title=\"{}\">{}</th><td class=\"text\">{}</td>",
                           esc(m.description), esc(m.name), esc(against[i]));
        for (const auto& e : r.endpoints) {
            const auto s = summarise_scores(r.split_scores(m.name, e.name));
            if (s.present == 0) {
                out += fmt::format("<td class=\"na\">{}</td>", kNotApplicable);
                continue;
            }
            out += fmt::format("<td>{}{}</td>", number(s.mean), pair_marks(r, "ladder", m.name, e));
        }
        out += "</tr>\n";
    }
    return out + "</tbody>\n</table></div>\n</section>\n";
}

std::string controls_section(const Results& r) {
    std::vector<std::pair<std::string, std::string>> pairs; // method, control
    for (const auto& c : r.comparisons)
        if (c.kind == "control" && std::find(pairs.begin(), pairs.end(), std::pair(c.method, c.reference)) == pairs.end())
            pairs.emplace_back(c.method, c.reference);
    if (pairs.empty()) return {};
    std::string out =
        "<section id=\"controls\">\n<h2>Does gene identity matter? Methods against their controls</h2>\n"
        "<p class=\"note\">Each method against the same configuration on its operator with the genes permuted "
        "(P A P<sup>T</sup>: spectrum and sparsity kept, which genes are connected lost). Paired two-sided Wilcoxon "
        "over distinct held-out donors, Benjamini-Hochberg over all control comparisons; the split-level test is in "
        "comparisons.tsv. &Delta; = method &minus; control.</p>\n"
        "<div class=\"wide\"><table class=\"controls\">\n<thead><tr><th class=\"text\">method</th>"
        "<th class=\"text\">control</th><th class=\"text\">endpoint</th><th>n donors</th><th>method</th><th>control</th>"
        "<th>&Delta;</th><th>p</th><th>q</th><th class=\"text\">gene identity</th></tr></thead>\n<tbody>\n";
    for (const auto& [method, control] : pairs)
        for (const auto& e : r.endpoints) {
            const auto* c = find_pair(r, "control", method, e.name, ComparisonUnit::donors);
            if (c == nullptr || c->reference != control) continue;
            std::optional<double> diff;
            if (c->mean_method && c->mean_reference) diff = *c->mean_method - *c->mean_reference;
            std::string verdict = "not tested";
            if (c->test != "none" && c->p)
                verdict = !c->significant            ? "no evidence it matters"
                          : comparison_direction(*c, e) == "better" ? "matters: the real genes do better"
                                                        : "the permuted genes do better";
            out += fmt::format("<tr{}><th scope=\"row\" class=\"text\">{}</th><td class=\"text\">{}</td><td class=\"text\">{}</td>"
                               "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>\n",
                               c->significant ? " class=\"sig\"" : "", esc(method), esc(control), esc(e.label), c->n,
                               number_or_na(c->mean_method), number_or_na(c->mean_reference), number_or_na(diff),
                               p_value(c->p), p_value(c->q), verdict);
        }
    return out + "</tbody>\n</table></div>\n</section>\n";
}

// ---- compression chain ----

/// "k/n" losses of one unit, the lost endpoints' labels in the title, gains noted beside.
std::string chain_losses_cell(const Results& r, const ChainLosses& l) {
    if (l.tested.empty()) return fmt::format("<td class=\"na\" title=\"no endpoint was tested\">{}</td>", kNotApplicable);
    const auto label = [&](const std::string& name) {
        for (const auto& e : r.endpoints)
            if (e.name == name) return esc(e.label);
        return esc(name);
    };
    std::vector<std::string> lost, gained;
    for (const auto& n : l.lost) lost.push_back(label(n));
    for (const auto& n : l.gained) gained.push_back(label(n));
    std::string title = lost.empty() ? std::string("no significant loss") : fmt::format("lost: {}", fmt::join(lost, "; "));
    if (!gained.empty()) title += fmt::format(" | gained: {}", fmt::join(gained, "; "));
    std::string text = fmt::format("{}/{}", l.lost.size(), l.tested.size());
    if (!l.gained.empty()) text += fmt::format(" <span class=\"better\">(+{} better)</span>", l.gained.size());
    return fmt::format("<td title=\"{}\">{}</td>", title, text);
}

std::string chain_section(const Results& r) {
    if (!r.compression_chain) return {};
    const Endpoint* depth = nullptr;
    std::size_t classification = 0;
    for (const auto& e : r.endpoints) {
        if (is_pseudotime_endpoint(e.name)) depth = &e;
        else ++classification;
    }
    std::string out = fmt::format(
        "<section id=\"compression-chain\">\n<h2>Compression chain</h2>\n"
        "<p class=\"note\">Each variant against the reference <b>{}</b> on the same splits, adaptor and readouts "
        "retrained per variant. Losses: of the classification endpoints tested ({} in this run: every endpoint but "
        "depth), those where the reference is significantly better, q &lt; {} (Benjamini-Hochberg over all "
        "endpoints and methods against the reference, within a unit), over splits and over distinct held-out donors; "
        "the cell's title names them. Size: the operator as stored, 4 bytes per value (MB = 10<sup>6</sup> bytes). "
        "Depth: mean |&rho;| over the {} splits, marked as in the ladder (&#9650; better / &#9660; worse than the "
        "reference; * / ** over splits, &dagger; / &dagger;&dagger; over donors). The paper: single head 0/8, "
        "rank-64 5/8, rank-32 6/8, hard-sparse 7/8.</p>\n"
        "<div class=\"wide\"><table class=\"chain\">\n<thead><tr><th class=\"text\">variant</th><th>operator (MB)</th>"
        "<th>stored values</th><th>losses over splits</th><th>losses over donors</th><th>{} &uarr;</th></tr></thead>\n"
        "<tbody>\n",
        esc(r.reference), classification, p_value(r.fdr), r.splits.n, depth ? esc(depth->label) : "depth");
    for (const auto& row : compression_chain_rows(r)) {
        const auto& m = *row.method;
        const auto& size = m.operator_size;
        out += "<tr>" + method_cell(r, m);
        out += size ? fmt::format("<td>{}</td><td>{}</td>", number(size->mb, 3), grouped(size->stored_values))
                    : fmt::format("<td class=\"na\" title=\"no operator recorded\">{0}</td><td class=\"na\">{0}</td>",
                                  kNotApplicable);
        if (row.is_reference) out += "<td class=\"text\" colspan=\"2\">reference</td>";
        else out += chain_losses_cell(r, row.splits) + chain_losses_cell(r, row.donors);
        if (depth == nullptr || !row.depth_mean) out += fmt::format("<td class=\"na\">{}</td>", kNotApplicable);
        else out += fmt::format("<td>{}{}</td>", number(*row.depth_mean), pair_marks(r, "reference", m.name, *depth));
        out += "</tr>\n";
    }
    return out + "</tbody>\n</table></div>\n</section>\n";
}

// ---- methods and runtime ----

std::string runtime_section(const Results& r) {
    std::string out = "<section id=\"runtime\">\n<h2>Methods and runtime</h2>\n"
                      "<p class=\"note\">Cache: one-off work shared by all splits (e.g. embeddings). Per split: "
                      "median over the splits of training and scoring time.</p>\n"
                      "<div class=\"wide\"><table class=\"runtime\">\n<thead><tr><th class=\"text\">method</th>"
                      "<th class=\"text\">pseudotime class</th><th class=\"text\">description</th>"
                      "<th>trainable parameters</th><th>cache (s)</th><th>median per split (s)</th>"
                      "<th>total (s)</th></tr></thead>\n<tbody>\n";
    for (const auto& m : r.methods) {
        const auto params = m.trainable_parameters < 0 ? std::string("unknown") : grouped(m.trainable_parameters);
        const auto per_split = m.split_seconds.empty() ? std::string(kNotApplicable) : number(median(m.split_seconds), 1);
        out += fmt::format("<tr>{}<td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td>"
                           "<td>{}</td><td>{}</td></tr>\n",
                           method_cell(r, m), class_badge(m.pseudotime_class), esc(m.description), params,
                           number(m.cache_seconds, 1), per_split, number(m.total_seconds, 1));
    }
    return out + "</tbody>\n</table></div>\n</section>\n";
}

// ---- figures ----

std::string figure(std::string_view id, const std::string& svg_element, std::string_view caption) {
    return fmt::format("<figure id=\"{}\">\n{}<figcaption>{}</figcaption>\n</figure>\n", id,
                       svg_element.empty() ? "<p class=\"missing\">no data for this figure in the results file</p>\n"
                                           : svg_element,
                       caption);
}

const char* colouring_label(ManifoldColouring c) {
    switch (c) {
    case ManifoldColouring::label: return "own labels";
    case ManifoldColouring::predicted_stage: return "predicted stage";
    case ManifoldColouring::true_stage: return "ruler stage of the label";
    }
    return "";
}

/// Every method's manifold view, one shown at a time: a radio group picks the method,
/// another the colouring (CSS only, see page_css()).
std::string manifold_figure(const Results& r) {
    const auto& views = r.figures.manifolds;
    if (views.empty())
        return figure("fig-manifold", {},
                      "(d) 2-D views of the methods' latents: not in this results file (no method recorded a latent).");
    // the reference first: the view a reader expects on opening the page
    std::vector<std::size_t> order(views.size());
    for (std::size_t i = 0; i < views.size(); ++i) order[i] = i;
    std::stable_partition(order.begin(), order.end(), [&](std::size_t i) { return views[i].method == r.reference; });
    const auto colourings = manifold_colourings(r);
    std::string out = "<figure id=\"fig-manifold\">\n<div class=\"picker\"><b>method</b>";
    // inputs are siblings of .mf-panels, so the CSS rules can reach the panel they select
    for (std::size_t k = 0; k < order.size(); ++k)
        out += fmt::format("<input type=\"radio\" name=\"mf-method\" id=\"mf-m-{0}\"{1}><label for=\"mf-m-{0}\">{2}</label>",
                           order[k], k == 0 ? " checked" : "", esc(views[order[k]].method));
    out += "<br><b>colour by</b>";
    for (std::size_t k = 0; k < colourings.size(); ++k)
        out += fmt::format("<input type=\"radio\" name=\"mf-colour\" id=\"mf-c-{0}\"{1}><label for=\"mf-c-{0}\">{2}</label>",
                           colouring_key(colourings[k]), k == 0 ? " checked" : "", colouring_label(colourings[k]));
    out += "\n<div class=\"mf-panels\">\n";
    for (const auto i : order)
        for (const auto c : colourings) {
            const auto svg_element = manifold_view_svg(views[i], c, fmt::format("svg-manifold-{}-{}", i, colouring_key(c)));
            out += fmt::format("<div class=\"mf-panel mf-{}-{}\">\n{}</div>\n", i, colouring_key(c),
                               svg_element.empty()
                                   ? fmt::format("<p class=\"missing\">{} records no {} for its cells.</p>\n",
                                                 esc(views[i].method), colouring_label(c))
                                   : svg_element);
        }
    out += "</div></div>\n";
    const bool legacy = std::none_of(views.begin(), views.end(), [](const ManifoldView& v) { return !v.labels.empty(); });
    out += fmt::format(
        "<figcaption>(d) A 2-D view (the first two principal components) of each method's latent on the held-out cells "
        "of split {}; pick the method and the colouring above. Legends list only the classes drawn, with the cells "
        "drawn per class; colours do not repeat within a plot. Cells whose label maps to no ruler stage are left out.{}"
        "</figcaption>\n</figure>\n",
        views.front().split,
        legacy ? " This results file was written before every method's latent, the cells' own labels and the predicted "
                 "stages were recorded: it holds the reference's view coloured by ruler stage only. Re-run the bench "
                 "for the rest."
               : "");
    return out;
}

/// True x predicted branch and stage tables, one collapsible block per method.
std::string confusion_figure(const Results& r) {
    std::string out = "<figure id=\"fig-confusion\">\n";
    if (!r.figures.confusion_recorded) {
        out += "<p class=\"missing\">not in this results file (written before confusion counts were recorded)</p>\n";
    } else if (r.figures.confusion.empty()) {
        out += "<p class=\"missing\">no method predicts a branch or a stage in this run</p>\n";
    } else {
        bool first = true;
        for (const auto& m : r.methods) {
            std::string tables;
            for (const auto* task : {"branch", "stage"})
                for (const auto& c : r.figures.confusion)
                    if (c.method == m.name && c.task == task) tables += confusion_table_html(c);
            if (tables.empty()) continue;
            out += fmt::format("<details{}><summary>{}{}</summary>\n<div class=\"confusions\">\n{}</div>\n</details>\n",
                               first ? " open" : "", esc(m.name), m.name == r.reference ? " (reference)" : "", tables);
            first = false;
        }
    }
    return out + "<figcaption>(e) Confusion tables of the predicted ruler branch and stage against the true ones (from the "
                 "cells' labels) on the held-out cells of the figure split, per method (click a method to open it). "
                 "Rows: true classes with cells; columns: classes predicted or present, and <i>none</i> for cells "
                 "without a prediction. Shading: share of the row; the diagonal (correct) is outlined.</figcaption>\n"
                 "</figure>\n";
}

std::string figures_section(const Results& r) {
    std::string out = "<section id=\"figures\">\n<h2>Figures</h2>\n";
    out += figure("fig-pseudotime", pseudotime_figure_svg(r),
                  "(a) Pseudotime against ruler depth on held-out cells, one panel per method, labelled with its "
                  "pseudotime class and |&rho;| (Spearman). Depth is jittered; black bars: median per depth." +
                      std::string(std::any_of(r.figures.pseudotime.begin(), r.figures.pseudotime.end(),
                                              [](const PseudotimePanel& p) { return !p.branch.empty(); })
                                      ? " Cells are coloured by their ruler branch, so each branch's depth ordering reads "
                                        "on its own."
                                      : " (This results file predates per-cell branches: cells are not coloured by branch.)"));
    out += figure("fig-roc", roc_figure_svg(r),
                  "(b) ROC curves of the binary tasks on held-out cells, one line per method; the legend gives each "
                  "curve's AUC. Dashed: chance.");
    out += figure("fig-splits", split_distribution_figure_svg(r),
                  "(c) Per-split scores (mean over each split's held-out donors) per endpoint and method: points, "
                  "median bar and quartile box. Marks against the reference: * q &lt; 0.05, ** q &lt; 0.01 over "
                  "splits; &dagger; / &dagger;&dagger; the same over donors; none across pseudotime classes.");
    out += manifold_figure(r);
    out += confusion_figure(r);
    return out + "</section>\n";
}

} // namespace
} // namespace report

std::string render_bench_report_html(const nlohmann::json& results, std::string_view source) {
    return render_bench_report_html(report::parse_results(results, source));
}

std::string render_bench_report_html(const report::Results& r) {
    using namespace report;
    return page_head(r) + header_section(r) + dataset_section(r) + endpoints_section(r) + chain_section(r) + ladder_section(r) +
           controls_section(r) + comparisons_section(r) +
           figures_section(r) + runtime_section(r) + "</body>\n</html>\n";
}

} // namespace scx
