#include "scextract/report/bench_report_figures.hpp"

#include "scextract/io/svg_plot.hpp"

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

void draw_pseudotime_panel(Document& doc, const Rect& cell, const PseudotimePanel& p, const std::string& colour) {
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
        doc.circle(panel.x(p.depth[i] + layout.jitter_width * jitter(i)), panel.y(p.pseudotime[i]), 2.2, colour, 0.45);
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

void draw_manifold(Document& doc, const Rect& cell, const ManifoldView& m) {
    const Panel panel(cell, svg::nice_range(svg::finite_range(m.x)), svg::nice_range(svg::finite_range(m.y)));
    panel.draw_axes(doc, {.title = fmt::format("{}{}split {}", m.method, kDot, m.split),
                          .subtitle = "held-out cells, coloured by stage",
                          .x_label = "component 1",
                          .y_label = "component 2",
                          .grid = false});
    const auto keep = thinned(m.x.size(), kMaxManifoldPoints);
    std::vector<svg::LegendEntry> legend;
    for (std::size_t s = 0; s < m.stages.size(); ++s) {
        std::vector<std::size_t> cells;
        for (const auto i : keep)
            if (m.stage[i] == static_cast<std::int64_t>(s) && std::isfinite(m.x[i]) && std::isfinite(m.y[i]))
                cells.push_back(i);
        const auto colour = svg::palette(s);
        legend.push_back({.label = fmt::format("{} ({})", m.stages[s], cells.size()), .colour = colour});
        if (cells.empty()) continue;
        doc.begin_group("stage", m.stages[s]);
        for (const auto i : cells) doc.circle(panel.x(m.x[i]), panel.y(m.y[i]), 2.6, colour, 0.75);
        doc.end_group();
    }
    svg::draw_legend(doc, cell.x + cell.width + 12, panel.plot_area().y, legend);
}

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
    Document doc(grid.width(panels.size()), grid.height(panels.size()), "svg-pseudotime",
                 "Pseudotime against ruler depth on held-out cells, one panel per method");
    for (std::size_t i = 0; i < panels.size(); ++i)
        draw_pseudotime_panel(doc, grid.cell(i), *panels[i], method_colour(r, panels[i]->method));
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

std::string manifold_figure_svg(const Results& r) {
    if (!r.figures.manifold) return {};
    const auto& m = *r.figures.manifold;
    std::vector<svg::LegendEntry> legend;
    for (const auto& s : m.stages) legend.push_back({.label = s + " (00000)", .colour = "#000"});
    const double legend_width = svg::legend_extent(legend).width;
    const Rect cell{0, 0, 640, 560};
    Document doc(cell.width + legend_width + 24, std::max(cell.height, svg::legend_extent(legend).height + 60),
                 "svg-manifold", fmt::format("2-D view of the {} manifold, cells coloured by stage", m.method));
    draw_manifold(doc, cell, m);
    return doc.finish();
}

} // namespace scx::report
