#include "scextract/report/bench_report_figures.hpp"

#include "scextract/io/svg_plot.hpp"
#include "scextract/report/palette.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

namespace scx::report {

namespace {

using svg::Document;
using svg::Panel;
using svg::Range;
using svg::Rect;

constexpr const char* kRho = "\u03c1";
constexpr const char* kDot = " \u00b7 ";

/// The colour a method keeps in every figure.
std::string method_colour(const Results& r, std::string_view method) {
    for (std::size_t i = 0; i < r.methods.size(); ++i)
        if (r.methods[i].name == method) return svg::palette(i);
    return "#888888";
}

std::size_t method_rank(const Results& r, std::string_view method) {
    for (std::size_t i = 0; i < r.methods.size(); ++i)
        if (r.methods[i].name == method) return i;
    return r.methods.size();
}

/// Indices 0, s, 2s, ... keeping at most @p max of @p n: a fixed stride, so reruns draw the same points.
std::vector<std::size_t> thinned(std::size_t n, std::size_t max) {
    const std::size_t stride = std::max<std::size_t>(1, (n + max - 1) / std::max<std::size_t>(max, 1));
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < n; i += stride) out.push_back(i);
    return out;
}

/// A deterministic offset in [-0.5, 0.5): the golden-ratio sequence spreads points evenly without an RNG.
double jitter(std::size_t i) {
    const double v = static_cast<double>(i) * 0.6180339887498949;
    return v - std::floor(v) - 0.5;
}

double quantile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    const double pos = p * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

std::vector<double> present(const std::vector<std::optional<double>>& values) {
    std::vector<double> out;
    for (const auto& v : values)
        if (v && std::isfinite(*v)) out.push_back(*v);
    return out;
}

/// A layout of @p n panels in rows of at most @p columns; the SVG's size follows.
struct Grid {
    std::size_t columns;
    double cell_width, cell_height;
    [[nodiscard]] double width(std::size_t n) const {
        return cell_width * static_cast<double>(std::min(std::max<std::size_t>(n, 1), columns));
    }
    [[nodiscard]] double height(std::size_t n) const {
        return cell_height * static_cast<double>((std::max<std::size_t>(n, 1) + columns - 1) / columns);
    }
    [[nodiscard]] Rect cell(std::size_t i) const { return svg::grid_cell(i, columns, cell_width, cell_height); }
};

// ---- (a) pseudotime against depth ----

/// Jitter width and whether per-depth medians make sense: only for a few discrete depths.
struct DepthLayout {
    std::vector<double> levels; ///< distinct depths, ascending; empty when depth is continuous
    double jitter_width = 0;
};

DepthLayout depth_layout(const std::vector<double>& depth) {
    std::set<double> levels;
    for (const double d : depth)
        if (std::isfinite(d)) levels.insert(d);
    if (levels.size() > 20 || levels.size() < 2) return {{levels.begin(), levels.end()}, 0};
    double gap = INFINITY;
    for (auto it = std::next(levels.begin()); it != levels.end(); ++it) gap = std::min(gap, *it - *std::prev(it));
    return {{levels.begin(), levels.end()}, 0.6 * gap};
}

/// Points coloured by @p branch_colours[branch] when the panel records branches, else @p colour.
void draw_pseudotime_panel(Document& doc, const Rect& cell, const PseudotimePanel& p, const std::string& colour,
                           const std::vector<std::string>& branch_colours) {
    const auto layout = depth_layout(p.depth);
    const auto dr = svg::finite_range(p.depth);
    const double pad = layout.jitter_width > 0 ? layout.jitter_width : 0.05 * (dr.hi - dr.lo);
    const Panel panel(cell, {dr.lo - pad, dr.hi + pad}, svg::nice_range(svg::finite_range(p.pseudotime)));
    svg::AxesSpec spec{.title = fmt::format("{}{}split {}", p.method, kDot, p.split),
                       .subtitle = fmt::format("{} pseudotime{}|{}| = {}", to_string(p.pseudotime_class), kDot, kRho,
                                               std::isfinite(p.spearman) ? svg::fixed(std::abs(p.spearman), 2) : "n/a"),
                       .x_label = layout.jitter_width > 0 ? "ruler depth (jittered)" : "ruler depth",
                       .y_label = "pseudotime"};
    if (layout.jitter_width > 0 && layout.levels.size() <= 12) spec.x_ticks = layout.levels;
    panel.draw_axes(doc, spec);

    doc.begin_group("cells", fmt::format("{}: held-out cells of split {}", p.method, p.split));
    for (const auto i : thinned(p.depth.size(), kMaxScatterPoints)) {
        if (!std::isfinite(p.depth[i]) || !std::isfinite(p.pseudotime[i])) continue;
        const bool by_branch = p.branch.size() == p.depth.size() && p.branch[i] >= 0 &&
                               static_cast<std::size_t>(p.branch[i]) < branch_colours.size();
        doc.circle(panel.x(p.depth[i] + layout.jitter_width * jitter(i)), panel.y(p.pseudotime[i]), 2.2,
                   by_branch ? branch_colours[static_cast<std::size_t>(p.branch[i])] : colour, 0.45);
    }
    doc.end_group();
    if (layout.jitter_width == 0) return;
    doc.begin_group("medians", "median pseudotime per depth");
    for (const double level : layout.levels) {
        std::vector<double> at;
        for (std::size_t i = 0; i < p.depth.size(); ++i)
            if (p.depth[i] == level && std::isfinite(p.pseudotime[i])) at.push_back(p.pseudotime[i]);
        if (at.empty()) continue;
        const double m = quantile(at, 0.5);
        doc.line(panel.x(level - layout.jitter_width / 2), panel.y(m), panel.x(level + layout.jitter_width / 2),
                 panel.y(m), "#222", 2);
    }
    doc.end_group();
}

// ---- (b) ROC curves ----

std::vector<std::string> roc_tasks(const Results& r) {
    std::vector<std::string> tasks;
    for (const auto& c : r.figures.roc)
        if (std::find(tasks.begin(), tasks.end(), c.task) == tasks.end()) tasks.push_back(c.task);
    return tasks;
}

void draw_roc_panel(Document& doc, const Rect& cell, const Results& r, const std::string& task) {
    const Panel panel(cell, {0, 1}, {0, 1});
    std::set<std::int64_t> splits;
    for (const auto& c : r.figures.roc)
        if (c.task == task) splits.insert(c.split);
    const auto subtitle = splits.size() == 1 ? fmt::format("held-out cells of split {}", *splits.begin())
                                             : fmt::format("held-out cells of {} splits", splits.size());
    panel.draw_axes(doc, {.title = task,
                          .subtitle = subtitle,
                          .x_label = "false positive rate",
                          .y_label = "true positive rate",
                          .x_ticks = {0, 0.2, 0.4, 0.6, 0.8, 1.0}});
    doc.line(panel.x(0), panel.y(0), panel.x(1), panel.y(1), "#aaaaaa", 1, "4 3");

    std::vector<svg::LegendEntry> legend;
    for (const auto& m : r.methods) {
        std::vector<const RocLine*> curves;
        for (const auto& c : r.figures.roc)
            if (c.task == task && c.method == m.name) curves.push_back(&c);
        if (curves.empty()) continue;
        const auto colour = method_colour(r, m.name);
        double auc = 0;
        doc.begin_group("roc-curve", fmt::format("{} on {}", m.name, task));
        for (const auto* c : curves) {
            std::vector<std::pair<double, double>> pts;
            for (std::size_t i = 0; i < c->fpr.size(); ++i)
                if (std::isfinite(c->fpr[i]) && std::isfinite(c->tpr[i]))
                    pts.emplace_back(panel.x(c->fpr[i]), panel.y(c->tpr[i]));
            doc.polyline(pts, colour, 1.8, curves.size() > 1 ? 0.6 : 1);
            auc += c->auc;
        }
        doc.end_group();
        auc /= static_cast<double>(curves.size());
        const auto auc_text = std::isfinite(auc) ? svg::fixed(auc, 3) : std::string("n/a");
        legend.push_back({.label = curves.size() == 1
                                       ? fmt::format("{}  AUC {}", m.name, auc_text)
                                       : fmt::format("{}  AUC {} (mean of {})", m.name, auc_text, curves.size()),
                          .colour = colour,
                          .as_line = true});
    }
    const auto box = svg::legend_extent(legend);
    const auto& area = panel.plot_area();
    svg::draw_legend(doc, area.x + area.width - box.width - 6, area.y + area.height - box.height - 6, legend);
}

// ---- (c) per-split distributions ----

/// The methods of an endpoint's panel: pseudotime endpoints group supervised, then
/// unsupervised, then methods without pseudotime; otherwise the file's order.
std::vector<const Method*> panel_methods(const Results& r, const Endpoint& e) {
    std::vector<const Method*> out;
    for (const auto& m : r.methods) out.push_back(&m);
    if (is_pseudotime_endpoint(e.name)) {
        const auto rank = [](PseudotimeClass c) {
            return c == PseudotimeClass::supervised ? 0 : c == PseudotimeClass::unsupervised ? 1 : 2;
        };
        std::stable_sort(out.begin(), out.end(), [&](const auto* a, const auto* b) {
            return rank(a->pseudotime_class) < rank(b->pseudotime_class);
        });
    }
    return out;
}

/// "**" / "††" style marks for @p method against the reference; none across pseudotime classes.
std::string method_marks(const Results& r, const std::string& method, const std::string& endpoint) {
    std::string marks;
    for (const auto unit : {ComparisonUnit::splits, ComparisonUnit::donors}) {
        const auto* c = r.find_comparison(method, endpoint, unit);
        if (c == nullptr || r.across_classes(*c)) continue;
        const auto m = significance_mark(c->q, unit);
        if (m.empty()) continue;
        if (!marks.empty()) marks += ' ';
        marks += m;
    }
    return marks;
}

void draw_box(Document& doc, const Panel& panel, double centre_px, double half_px, const std::vector<double>& v,
              const std::string& colour) {
    const double med = quantile(v, 0.5);
    if (v.size() >= 3) {
        const double q1 = quantile(v, 0.25), q3 = quantile(v, 0.75);
        const double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
        doc.line(centre_px, panel.y(lo), centre_px, panel.y(q1), colour);
        doc.line(centre_px, panel.y(q3), centre_px, panel.y(hi), colour);
        doc.rect({centre_px - half_px, panel.y(q3), 2 * half_px, std::max(0.5, panel.y(q1) - panel.y(q3))}, colour,
                 colour, 0.15);
    }
    doc.line(centre_px - half_px, panel.y(med), centre_px + half_px, panel.y(med), colour, 2);
}

void draw_split_panel(Document& doc, const Rect& cell, const Results& r, const Endpoint& e) {
    const auto methods = panel_methods(r, e);
    std::vector<std::vector<double>> values;
    std::vector<double> all;
    for (const auto* m : methods) {
        values.push_back(present(r.split_scores(m->name, e.name)));
        all.insert(all.end(), values.back().begin(), values.back().end());
    }
    // Headroom above the highest point for the significance marks.
    auto data_range = svg::finite_range(all);
    data_range.hi += 0.12 * (data_range.hi - data_range.lo);
    const auto y_range = all.empty() ? Range{0, 1} : svg::nice_range(data_range);
    const double n = static_cast<double>(methods.size());
    const Panel panel(cell, {0, std::max(1.0, n)}, y_range, {.left = 54, .right = 12, .top = 44, .bottom = 78});
    const double slot_px = panel.plot_area().width / std::max(1.0, n);

    svg::AxesSpec spec{.title = e.label,
                       .subtitle = fmt::format("per split; {} is better", e.higher_is_better ? "higher" : "lower"),
                       .x_category_rotate = -30};
    for (std::size_t i = 0; i < methods.size(); ++i)
        spec.x_categories.emplace_back(static_cast<double>(i) + 0.5,
                                       methods[i]->name == r.reference ? methods[i]->name + " (ref)" : methods[i]->name);
    panel.draw_axes(doc, spec);
    if (all.empty()) {
        panel.draw_note(doc, "not applicable (labels absent)");
        return;
    }
    const auto& area = panel.plot_area();
    for (std::size_t i = 0; i < methods.size(); ++i) {
        const auto& m = *methods[i];
        const double centre = panel.x(static_cast<double>(i) + 0.5);
        if (is_pseudotime_endpoint(e.name) && i > 0 && m.pseudotime_class != methods[i - 1]->pseudotime_class)
            doc.line(panel.x(static_cast<double>(i)), area.y, panel.x(static_cast<double>(i)), area.y + area.height,
                     "#999", 1, "3 3");
        if (is_pseudotime_endpoint(e.name))
            doc.text(centre, area.y + 11, m.pseudotime_class == PseudotimeClass::none ? "no pseudotime"
                                                                                          : std::string(to_string(m.pseudotime_class)),
                     {.anchor = "middle", .size = 9, .fill = "#666"});
        const auto& v = values[i];
        if (v.empty()) {
            doc.text(centre, area.y + area.height / 2, "n/a", {.anchor = "middle", .fill = "#888"});
            continue;
        }
        const auto colour = method_colour(r, m.name);
        doc.begin_group("split-scores", fmt::format("{}: {} splits", m.name, v.size()));
        draw_box(doc, panel, centre, 0.22 * slot_px, v, colour);
        for (std::size_t k = 0; k < v.size(); ++k)
            doc.circle(centre + 0.3 * slot_px * jitter(k + 1), panel.y(v[k]), 3, colour, 0.85);
        doc.end_group();
        const auto marks = m.name == r.reference ? std::string() : method_marks(r, m.name, e.name);
        if (!marks.empty())
            doc.text(centre, std::max(area.y + 22, panel.y(*std::max_element(v.begin(), v.end())) - 8), marks,
                     {.anchor = "middle", .size = 12, .bold = true});
    }
}

// ---- (d) manifold ----

/// The class of each point under @p colouring (-1: none), the class names, and a name for
/// points of class -1; empty classes when the view cannot be coloured that way.
struct Colouring {
    const std::vector<std::int64_t>* cls = nullptr;
    const std::vector<std::string>* names = nullptr;
    std::string what, none_name;
};

Colouring colouring_of(const ManifoldView& m, ManifoldColouring c) {
    switch (c) {
    case ManifoldColouring::label:
        if (m.label.size() == m.x.size() && !m.labels.empty()) return {&m.label, &m.labels, "the cells' own labels", ""};
        break;
    case ManifoldColouring::predicted_stage:
        if (m.predicted_stage.size() == m.x.size()) return {&m.predicted_stage, &m.stages, "predicted stage", "no prediction"};
        break;
    case ManifoldColouring::true_stage: return {&m.stage, &m.stages, "ruler stage of the label", ""};
    }
    return {};
}

} // namespace

std::vector<std::size_t> present_classes(const std::vector<std::int64_t>& cls, std::size_t n_classes) {
    std::vector<bool> seen(n_classes, false);
    for (const auto c : cls)
        if (c >= 0 && static_cast<std::size_t>(c) < n_classes) seen[static_cast<std::size_t>(c)] = true;
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < n_classes; ++i)
        if (seen[i]) out.push_back(i);
    return out;
}

bool manifold_has_colouring(const ManifoldView& m, ManifoldColouring c) { return colouring_of(m, c).cls != nullptr; }

std::string manifold_view_svg(const ManifoldView& m, ManifoldColouring colouring, std::string_view id) {
    const auto how = colouring_of(m, colouring);
    if (how.cls == nullptr || m.x.empty()) return {};
    const auto keep = thinned(m.x.size(), kMaxManifoldPoints);
    std::vector<std::int64_t> drawn_classes;
    for (const auto i : keep)
        if (std::isfinite(m.x[i]) && std::isfinite(m.y[i])) drawn_classes.push_back((*how.cls)[i]);
    // colours and legend for the classes this plot draws only, so none repeats and none is empty
    const auto classes = present_classes(drawn_classes, how.names->size());
    const auto colours = distinct_palette(classes.size());
    const bool any_none = std::any_of(drawn_classes.begin(), drawn_classes.end(), [](std::int64_t c) { return c < 0; });

    std::vector<svg::LegendEntry> legend;
    for (const auto& name : *how.names) legend.push_back({.label = name + " (00000)", .colour = "#000"});
    const double legend_width = std::max(120.0, svg::legend_extent(legend).width);
    const Rect cell{0, 0, 620, 540};
    const double rows = static_cast<double>(classes.size() + (any_none ? 1 : 0));
    Document doc(cell.width + legend_width + 24, std::max(cell.height, 15 * rows + 80), id,
                 fmt::format("2-D view of the {} latent, cells coloured by {}", m.method, how.what));
    const Panel panel(cell, svg::nice_range(svg::finite_range(m.x)), svg::nice_range(svg::finite_range(m.y)));
    panel.draw_axes(doc, {.title = fmt::format("{}{}split {}", m.method, kDot, m.split),
                          .subtitle = fmt::format("held-out cells, coloured by {}", how.what),
                          .x_label = "component 1",
                          .y_label = "component 2",
                          .grid = false});
    legend.clear();
    const auto draw_class = [&](std::int64_t c, const std::string& name, const std::string& colour) {
        std::vector<std::size_t> cells;
        for (const auto i : keep)
            if ((*how.cls)[i] == c && std::isfinite(m.x[i]) && std::isfinite(m.y[i])) cells.push_back(i);
        legend.push_back({.label = fmt::format("{} ({})", name, cells.size()), .colour = colour});
        doc.begin_group("class", name);
        for (const auto i : cells) doc.circle(panel.x(m.x[i]), panel.y(m.y[i]), 2.6, colour, 0.75);
        doc.end_group();
    };
    for (std::size_t k = 0; k < classes.size(); ++k)
        draw_class(static_cast<std::int64_t>(classes[k]), (*how.names)[classes[k]], colours[k]);
    if (any_none) draw_class(-1, how.none_name, "#bbbbbb");
    svg::draw_legend(doc, cell.x + cell.width + 12, panel.plot_area().y, legend);
    return doc.finish();
}

std::string confusion_table_html(const ConfusionView& c) {
    const auto n = c.classes.size();
    std::vector<std::int64_t> row_sum(n, 0), col_sum(n + 1, 0);
    std::int64_t total = 0, correct = 0;
    for (std::size_t t = 0; t < n && t < c.counts.size(); ++t)
        for (std::size_t p = 0; p <= n && p < c.counts[t].size(); ++p) {
            row_sum[t] += c.counts[t][p];
            col_sum[p] += c.counts[t][p];
            total += c.counts[t][p];
            if (p == t) correct += c.counts[t][p];
        }
    // rows: true classes with cells; columns: classes predicted at least once, then "none" if used
    std::vector<std::size_t> rows, cols;
    for (std::size_t i = 0; i < n; ++i) {
        if (row_sum[i] > 0) rows.push_back(i);
        if (col_sum[i] > 0 || row_sum[i] > 0) cols.push_back(i);
    }
    if (col_sum[n] > 0) cols.push_back(n);
    const auto name = [&](std::size_t i) { return i == n ? std::string("none") : c.classes[i]; };
    const auto esc = [](std::string_view s) { return svg::escape(s); };
    std::string out = fmt::format(
        "<div class=\"wide\"><table class=\"confusion\" data-method=\"{}\" data-task=\"{}\">\n"
        "<caption>{} &middot; {}: {} of {} held-out cells of split {} correct ({})</caption>\n"
        "<thead><tr><th class=\"text\">true &darr; / predicted &rarr;</th>",
        esc(c.method), esc(c.task), esc(c.method), esc(c.task), correct, total, c.split,
        total > 0 ? svg::fixed(100.0 * static_cast<double>(correct) / static_cast<double>(total), 1) + "%" : "n/a");
    for (const auto j : cols) out += fmt::format("<th class=\"rot\" title=\"{0}\"><span>{0}</span></th>", esc(name(j)));
    out += "<th title=\"cells of this true class\">total</th></tr></thead>\n<tbody>\n";
    for (const auto i : rows) {
        out += fmt::format("<tr><th scope=\"row\" class=\"text\">{}</th>", esc(name(i)));
        for (const auto j : cols) {
            const auto v = c.counts[i][j];
            const double share = static_cast<double>(v) / static_cast<double>(row_sum[i]);
            // shade by the share of the true class's cells: a row reads as where that class went
            const auto style = v == 0 ? std::string() : fmt::format(" style=\"background: rgba(11, 93, 30, {:.2f})\"", 0.08 + 0.6 * share);
            out += fmt::format("<td{}{} title=\"true {}, predicted {}: {} of {}\">{}</td>", i == j ? " class=\"diag\"" : "", style,
                               esc(name(i)), esc(name(j)), v, row_sum[i], v == 0 ? std::string() : std::to_string(v));
        }
        out += fmt::format("<td>{}</td></tr>\n", row_sum[i]);
    }
    return out + "</tbody>\n</table></div>\n";
}

namespace {
} // namespace

std::string significance_mark(std::optional<double> q, ComparisonUnit unit) {
    if (!q || !(*q < 0.05)) return {};
    const bool strong = *q < 0.01;
    if (unit == ComparisonUnit::splits) return strong ? "**" : "*";
    return strong ? "\u2020\u2020" : "\u2020";
}

std::string pseudotime_figure_svg(const Results& r) {
    if (r.figures.pseudotime.empty()) return {};
    std::vector<const PseudotimePanel*> panels;
    for (const auto& p : r.figures.pseudotime) panels.push_back(&p);
    std::stable_sort(panels.begin(), panels.end(), [&](const auto* a, const auto* b) {
        return std::pair(method_rank(r, a->method), a->split) < std::pair(method_rank(r, b->method), b->split);
    });
    const Grid grid{4, 290, 250};
    // one colour per ruler branch, the same in every panel; the legend names the branches drawn
    std::vector<std::int64_t> drawn;
    for (const auto* p : panels)
        if (p->branch.size() == p->depth.size()) drawn.insert(drawn.end(), p->branch.begin(), p->branch.end());
    const auto branches = present_classes(drawn, r.figures.branches.size());
    const auto colours = distinct_palette(branches.size());
    std::vector<std::string> branch_colours(r.figures.branches.size());
    std::vector<svg::LegendEntry> legend;
    for (std::size_t k = 0; k < branches.size(); ++k) {
        branch_colours[branches[k]] = colours[k];
        legend.push_back({.label = r.figures.branches[branches[k]], .colour = colours[k]});
    }
    const double legend_width = legend.empty() ? 0 : svg::legend_extent(legend).width + 16;
    Document doc(grid.width(panels.size()) + legend_width,
                 std::max(grid.height(panels.size()), svg::legend_extent(legend).height + 50), "svg-pseudotime",
                 legend.empty() ? "Pseudotime against ruler depth on held-out cells, one panel per method"
                                : "Pseudotime against ruler depth on held-out cells, one panel per method, cells coloured by ruler branch");
    for (std::size_t i = 0; i < panels.size(); ++i)
        draw_pseudotime_panel(doc, grid.cell(i), *panels[i], method_colour(r, panels[i]->method), branch_colours);
    if (!legend.empty()) {
        doc.text(grid.width(panels.size()) + 8, 30, "ruler branch", {.bold = true});
        svg::draw_legend(doc, grid.width(panels.size()) + 4, 38, legend);
    }
    return doc.finish();
}

std::string roc_figure_svg(const Results& r) {
    const auto tasks = roc_tasks(r);
    if (tasks.empty()) return {};
    const Grid grid{3, 380, 350};
    Document doc(grid.width(tasks.size()), grid.height(tasks.size()), "svg-roc",
                 "ROC curves of the binary tasks, one line per method");
    for (std::size_t i = 0; i < tasks.size(); ++i) draw_roc_panel(doc, grid.cell(i), r, tasks[i]);
    return doc.finish();
}

std::string split_distribution_figure_svg(const Results& r) {
    if (r.endpoints.empty() || r.methods.empty()) return {};
    const Grid grid{3, 380, 360};
    Document doc(grid.width(r.endpoints.size()), grid.height(r.endpoints.size()), "svg-splits",
                 "Per-split endpoint distributions per method, with significance against the reference");
    for (std::size_t i = 0; i < r.endpoints.size(); ++i) draw_split_panel(doc, grid.cell(i), r, r.endpoints[i]);
    return doc.finish();
}

} // namespace scx::report
