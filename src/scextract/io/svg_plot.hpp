#pragma once
/// @file svg_plot.hpp
/// @brief A minimal inline-SVG plotting kit for the benchmark report: an SVG document
/// builder, linear scales with round ticks, a panel (plot area + axes) and a legend.
///
/// Output is plain text with fixed number formatting, so the same inputs give the same
/// bytes on every machine; every string that reaches the SVG is escaped.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scx::svg {

/// Escapes text for HTML/XML content and attribute values (& < > " ').
[[nodiscard]] std::string escape(std::string_view text);

/// A colour of the categorical palette (colour-blind-safe first, then more); cycles.
[[nodiscard]] const char* palette(std::size_t i);

/// A closed interval of data values.
struct Range {
    double lo = 0, hi = 1;
};

/// The smallest range holding every finite value of @p values; {0, 1} when there is none,
/// and widened by 0.5 either side when all values are equal.
[[nodiscard]] Range finite_range(const std::vector<double>& values);

/// Round tick values (1, 2 or 5 times a power of ten) covering @p r, about @p target of them.
[[nodiscard]] std::vector<double> nice_ticks(Range r, int target = 5);

/// @p r widened outwards to the first and last of its nice_ticks().
[[nodiscard]] Range nice_range(Range r, int target = 5);

/// Maps data values linearly from a domain onto a pixel interval (to_px < from_px flips it,
/// as for a y axis).
class LinearScale {
public:
    LinearScale(Range domain, double from_px, double to_px);
    [[nodiscard]] double operator()(double v) const;
    [[nodiscard]] const Range& domain() const { return domain_; }

private:
    Range domain_;
    double from_px_, to_px_;
};

/// A box in px: top-left corner and size.
struct Rect {
    double x = 0, y = 0, width = 0, height = 0;
};

/// Text placement options.
struct TextStyle {
    const char* anchor = "start"; ///< SVG text-anchor: start, middle or end
    double size = 11;             ///< font size in px
    bool bold = false;
    const char* fill = "#222";
    double rotate = 0; ///< degrees about the anchor point
};

/// Builds one <svg> element. Shapes are appended in call order; finish() closes it.
class Document {
public:
    /// @p title becomes the SVG's <title> (its accessible name), @p id its element id.
    Document(double width, double height, std::string_view id, std::string_view title);

    /// Shapes take px coordinates and CSS colours; @p dash is an SVG stroke-dasharray.
    void circle(double cx, double cy, double r, std::string_view fill, double opacity = 1);
    void line(double x1, double y1, double x2, double y2, std::string_view stroke, double width = 1,
              std::string_view dash = {});
    /// Points in pixels; an empty or one-point list draws nothing.
    void polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke, double width = 1.5,
                  double opacity = 1, std::string_view dash = {});
    void rect(const Rect& r, std::string_view fill, std::string_view stroke = "none", double opacity = 1);
    /// @p content is escaped; (x, y) is the baseline anchor point.
    void text(double x, double y, std::string_view content, const TextStyle& style = {});
    /// Groups what follows until end_group(); @p label becomes the group's <title> (a tooltip).
    void begin_group(std::string_view css_class, std::string_view label = {});
    void end_group();

    /// The finished element; the document is empty afterwards.
    [[nodiscard]] std::string finish();

private:
    std::string out_;
    int open_groups_ = 0;
};

/// Axis decoration for a Panel.
struct AxesSpec {
    // Every member has a default initializer, so designated initializers may skip any.
    std::string title{};    ///< above the plot area, bold
    std::string subtitle{}; ///< below the title, smaller
    std::string x_label{}, y_label{};
    /// When not empty: categorical x axis, labels at these data positions instead of ticks.
    std::vector<std::pair<double, std::string>> x_categories{};
    double x_category_rotate = 0; ///< degrees, for long category labels
    /// When not empty: these x tick positions instead of the automatic ones.
    std::vector<double> x_ticks{};
    bool grid = true; ///< light horizontal grid lines at the y ticks
};

/// Margins around a panel's plot area, in px.
struct Margins {
    double left = 54, right = 12, top = 38, bottom = 42;
};

/// One plot of a figure: an outer box, the plot area inside its margins, and the two
/// scales mapping data onto it. All four figures of the report draw through this.
class Panel {
public:
    /// The domains are used as given; pass nice_range() for round axis ends.
    Panel(const Rect& outer, Range x, Range y, const Margins& margins = {});

    [[nodiscard]] double x(double v) const { return x_(v); }
    [[nodiscard]] double y(double v) const { return y_(v); }
    [[nodiscard]] const Rect& plot_area() const { return plot_; }

    /// Grid, frame, ticks with labels, axis labels, title and subtitle.
    void draw_axes(Document& doc, const AxesSpec& spec) const;
    /// A message centred in the plot area (e.g. "not applicable").
    void draw_note(Document& doc, std::string_view message) const;

private:
    Rect outer_, plot_;
    LinearScale x_, y_;
};

/// One legend row: a swatch (a dot, or a line when @p as_line) and its label.
struct LegendEntry {
    std::string label;
    std::string colour;
    bool as_line = false;
};

/// The size of the legend draw_legend() would draw (x and y are 0), for placing it.
[[nodiscard]] Rect legend_extent(const std::vector<LegendEntry>& entries, double row_height = 15);

/// Draws a legend with its top-left corner at (x, y) on a white, slightly translucent
/// box; returns the box drawn.
Rect draw_legend(Document& doc, double x, double y, const std::vector<LegendEntry>& entries, double row_height = 15);

/// Approximate width in px of @p text at @p font_size (for layout only; no font metrics).
[[nodiscard]] double text_width(std::string_view text, double font_size = 11);

/// A number formatted with @p decimals fixed decimals, "-0.0" printed as "0.0".
[[nodiscard]] std::string fixed(double v, int decimals);

/// Position of panel @p i in a grid of @p columns columns of equal cells.
[[nodiscard]] Rect grid_cell(std::size_t i, std::size_t columns, double cell_width, double cell_height,
                             double top = 0);

} // namespace scx::svg
