#include "scextract/io/svg_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

namespace scx::svg {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

const char* palette(std::size_t i) {
    // Okabe-Ito (colour-blind safe, yellow dropped: unreadable on white), then Tol's muted set.
    static constexpr std::array<const char*, 14> colours = {
        "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000",
        "#882255", "#44AA99", "#999933", "#332288", "#AA4499", "#117733", "#661100"};
    return colours[i % colours.size()];
}

Range finite_range(const std::vector<double>& values) {
    bool any = false;
    Range r{0, 0};
    for (const double v : values) {
        if (!std::isfinite(v)) continue;
        if (!any) r = {v, v};
        r.lo = std::min(r.lo, v);
        r.hi = std::max(r.hi, v);
        any = true;
    }
    if (!any) return {0, 1};
    if (r.hi == r.lo) return {r.lo - 0.5, r.hi + 0.5};
    return r;
}

namespace {

/// The nice step for about @p target intervals over @p r.
double nice_step(Range r, int target) {
    const double raw = (r.hi - r.lo) / std::max(1, target);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/// Decimals that show ticks @p step apart without noise.
int decimals_for_step(double step) {
    if (!(step > 0)) return 2;
    return std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 6);
}

std::string px(double v) { return fixed(v, 1); }

std::string opacity_attr(const char* name, double opacity) {
    return opacity < 1 ? fmt::format(" {}=\"{}\"", name, fixed(opacity, 2)) : std::string();
}

std::string dash_attr(std::string_view dash) {
    return dash.empty() ? std::string() : fmt::format(" stroke-dasharray=\"{}\"", escape(dash));
}

} // namespace

std::vector<double> nice_ticks(Range r, int target) {
    if (!std::isfinite(r.lo) || !std::isfinite(r.hi) || !(r.hi > r.lo)) return {r.lo};
    const double step = nice_step(r, target);
    // Steps below 1 are 1/n for an integer n; k / n is the double nearest the decimal
    // (3 / 5 == 0.6, while 3 * 0.2 != 0.6), and no error accumulates along the axis.
    const double per_unit = step < 1 ? std::round(1 / step) : 0;
    std::vector<double> ticks;
    const auto first = static_cast<long long>(std::ceil(r.lo / step - 1e-9));
    const auto last = static_cast<long long>(std::floor(r.hi / step + 1e-9));
    for (long long k = first; k <= last; ++k) {
        const double t = per_unit > 0 ? static_cast<double>(k) / per_unit : static_cast<double>(k) * step;
        ticks.push_back(t == 0 ? 0.0 : t);
    }
    return ticks;
}

Range nice_range(Range r, int target) {
    if (!std::isfinite(r.lo) || !std::isfinite(r.hi) || !(r.hi > r.lo)) return r;
    const double step = nice_step(r, target);
    const double per_unit = step < 1 ? std::round(1 / step) : 0; // as in nice_ticks()
    const double lo = std::floor(r.lo / step + 1e-9), hi = std::ceil(r.hi / step - 1e-9);
    return per_unit > 0 ? Range{lo / per_unit, hi / per_unit} : Range{lo * step, hi * step};
}

LinearScale::LinearScale(Range domain, double from_px, double to_px)
    : domain_(domain), from_px_(from_px), to_px_(to_px) {}

double LinearScale::operator()(double v) const {
    const double span = domain_.hi - domain_.lo;
    const double t = span > 0 ? (v - domain_.lo) / span : 0.5;
    return from_px_ + t * (to_px_ - from_px_);
}

std::string fixed(double v, int decimals) {
    auto s = fmt::format("{:.{}f}", v, decimals);
    if (s.front() == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
    return s;
}

double text_width(std::string_view text, double font_size) {
    std::size_t glyphs = 0;
    for (const char c : text)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++glyphs; // UTF-8 continuation bytes add nothing
    return 0.6 * font_size * static_cast<double>(glyphs);
}

Rect grid_cell(std::size_t i, std::size_t columns, double cell_width, double cell_height, double top) {
    columns = std::max<std::size_t>(columns, 1);
    return {static_cast<double>(i % columns) * cell_width, top + static_cast<double>(i / columns) * cell_height,
            cell_width, cell_height};
}

Document::Document(double width, double height, std::string_view id, std::string_view title) {
    out_ = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" "
                       "height=\"{}\" role=\"img\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">"
                       "\n<title>{}</title>\n",
                       escape(id), px(width), px(height), px(width), px(height), escape(title));
}

void Document::circle(double cx, double cy, double r, std::string_view fill, double opacity) {
    out_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"{}/>\n", px(cx), px(cy), px(r), escape(fill),
                        opacity_attr("fill-opacity", opacity));
}

void Document::line(double x1, double y1, double x2, double y2, std::string_view stroke, double width,
                    std::string_view dash) {
    out_ += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n", px(x1),
                        px(y1), px(x2), px(y2), escape(stroke), px(width), dash_attr(dash));
}

void Document::polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke, double width,
                        double opacity, std::string_view dash) {
    if (points.size() < 2) return;
    std::string coords;
    for (const auto& [x, y] : points) {
        if (!coords.empty()) coords += ' ';
        coords += px(x) + ',' + px(y);
    }
    out_ += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
                        "stroke-linejoin=\"round\"{}{}/>\n",
                        coords, escape(stroke), px(width), opacity_attr("stroke-opacity", opacity), dash_attr(dash));
}

void Document::rect(const Rect& r, std::string_view fill, std::string_view stroke, double opacity) {
    out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"{}\"{}/>\n", px(r.x),
                        px(r.y), px(r.width), px(r.height), escape(fill), escape(stroke),
                        opacity_attr("fill-opacity", opacity));
}

void Document::text(double x, double y, std::string_view content, const TextStyle& style) {
    std::string attrs = fmt::format("x=\"{}\" y=\"{}\"", px(x), px(y));
    if (std::string_view(style.anchor) != "start") attrs += fmt::format(" text-anchor=\"{}\"", style.anchor);
    if (style.size != 11) attrs += fmt::format(" font-size=\"{}\"", px(style.size));
    if (style.bold) attrs += " font-weight=\"bold\"";
    attrs += fmt::format(" fill=\"{}\"", escape(style.fill));
    if (style.rotate != 0) attrs += fmt::format(" transform=\"rotate({} {} {})\"", px(style.rotate), px(x), px(y));
    out_ += fmt::format("<text {}>{}</text>\n", attrs, escape(content));
}

void Document::begin_group(std::string_view css_class, std::string_view label) {
    out_ += fmt::format("<g class=\"{}\">", escape(css_class));
    if (!label.empty()) out_ += fmt::format("<title>{}</title>", escape(label));
    out_ += '\n';
    ++open_groups_;
}

void Document::end_group() {
    if (open_groups_ == 0) return;
    out_ += "</g>\n";
    --open_groups_;
}

std::string Document::finish() {
    while (open_groups_ > 0) end_group();
    out_ += "</svg>\n";
    return std::exchange(out_, std::string());
}

Panel::Panel(const Rect& outer, Range x, Range y, const Margins& m)
    : outer_(outer),
      plot_{outer.x + m.left, outer.y + m.top, std::max(1.0, outer.width - m.left - m.right),
            std::max(1.0, outer.height - m.top - m.bottom)},
      x_(x, plot_.x, plot_.x + plot_.width), y_(y, plot_.y + plot_.height, plot_.y) {}

void Panel::draw_axes(Document& doc, const AxesSpec& spec) const {
    constexpr const char* kAxis = "#777";
    const double bottom = plot_.y + plot_.height;
    const auto y_ticks = nice_ticks(y_.domain());
    const int y_decimals = decimals_for_step(y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 0);
    if (spec.grid)
        for (const double t : y_ticks) doc.line(plot_.x, y(t), plot_.x + plot_.width, y(t), "#e8e8e8");
    doc.rect(plot_, "none", kAxis);
    for (const double t : y_ticks) {
        doc.line(plot_.x - 4, y(t), plot_.x, y(t), kAxis);
        doc.text(plot_.x - 6, y(t) + 3.5, fixed(t, y_decimals), {.anchor = "end", .size = 10});
    }
    if (!spec.x_categories.empty()) {
        for (const auto& [pos, label] : spec.x_categories) {
            const bool rotated = spec.x_category_rotate != 0;
            doc.text(x(pos), bottom + 14, label,
                     {.anchor = rotated ? "end" : "middle", .size = 10, .rotate = spec.x_category_rotate});
        }
    } else {
        const auto x_ticks = spec.x_ticks.empty() ? nice_ticks(x_.domain()) : spec.x_ticks;
        const int x_decimals = decimals_for_step(x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 0);
        for (const double t : x_ticks) {
            doc.line(x(t), bottom, x(t), bottom + 4, kAxis);
            doc.text(x(t), bottom + 15, fixed(t, x_decimals), {.anchor = "middle", .size = 10});
        }
    }
    if (!spec.x_label.empty())
        doc.text(plot_.x + plot_.width / 2, outer_.y + outer_.height - 6, spec.x_label, {.anchor = "middle"});
    if (!spec.y_label.empty())
        doc.text(outer_.x + 12, plot_.y + plot_.height / 2, spec.y_label, {.anchor = "middle", .rotate = -90});
    if (!spec.title.empty()) doc.text(plot_.x, outer_.y + 14, spec.title, {.size = 12, .bold = true});
    if (!spec.subtitle.empty()) doc.text(plot_.x, outer_.y + 28, spec.subtitle, {.size = 10, .fill = "#555"});
}

void Panel::draw_note(Document& doc, std::string_view message) const {
    doc.text(plot_.x + plot_.width / 2, plot_.y + plot_.height / 2, message,
             {.anchor = "middle", .size = 12, .fill = "#888"});
}

Rect legend_extent(const std::vector<LegendEntry>& entries, double row_height) {
    double widest = 0;
    for (const auto& e : entries) widest = std::max(widest, text_width(e.label, 10));
    return {0, 0, widest + 36, static_cast<double>(entries.size()) * row_height + 8};
}

Rect draw_legend(Document& doc, double x, double y, const std::vector<LegendEntry>& entries, double row_height) {
    auto box = legend_extent(entries, row_height);
    box.x = x;
    box.y = y;
    doc.rect(box, "#ffffff", "#cccccc", 0.85);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const double cy = y + 4 + (static_cast<double>(i) + 0.5) * row_height;
        if (entries[i].as_line) doc.line(x + 7, cy, x + 23, cy, entries[i].colour, 2.5);
        else doc.circle(x + 15, cy, 4, entries[i].colour);
        doc.text(x + 29, cy + 3.5, entries[i].label, {.size = 10});
    }
    return box;
}

} // namespace scx::svg
