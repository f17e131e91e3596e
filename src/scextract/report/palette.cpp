#include "scextract/report/palette.hpp"

#include "scextract/io/svg_plot.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace scx::report {

namespace {

/// Hue in degrees, saturation and lightness in [0, 1], as "#rrggbb" (CSS's HSL model).
std::string hsl_hex(double hue, double saturation, double lightness) {
    const double c = (1 - std::abs(2 * lightness - 1)) * saturation;
    const double h = std::fmod(hue, 360.0) / 60.0;
    const double x = c * (1 - std::abs(std::fmod(h, 2.0) - 1));
    double r = 0, g = 0, b = 0;
    if (h < 1) r = c, g = x;
    else if (h < 2) r = x, g = c;
    else if (h < 3) g = c, b = x;
    else if (h < 4) g = x, b = c;
    else if (h < 5) r = x, b = c;
    else r = c, b = x;
    const double m = lightness - c / 2;
    const auto byte = [&](double v) { return static_cast<int>(std::lround(std::clamp(v + m, 0.0, 1.0) * 255)); };
    return fmt::format("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b));
}

} // namespace

std::vector<std::string> distinct_palette(std::size_t n) {
    constexpr std::size_t kFixed = 14; // svg::palette's distinct colours
    std::vector<std::string> out;
    if (n <= kFixed) {
        for (std::size_t i = 0; i < n; ++i) out.emplace_back(svg::palette(i));
        return out;
    }
    // (saturation, lightness): dark and light alternate; with an odd n the last class, whose
    // hue neighbours are a light one and the first (dark) one, takes a middle level
    constexpr double levels[3][2] = {{0.75, 0.36}, {0.85, 0.62}, {0.95, 0.49}};
    for (std::size_t i = 0; i < n; ++i) {
        const double hue = 360.0 * static_cast<double>(i) / static_cast<double>(n) + 10.0;
        const auto* level = levels[n % 2 == 1 && i == n - 1 ? 2 : i % 2];
        out.push_back(hsl_hex(hue, level[0], level[1]));
    }
    return out;
}

} // namespace scx::report
