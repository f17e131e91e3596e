#pragma once
/// @file palette.hpp
/// @brief Categorical colours for figures with many classes (cell labels, ruler stages):
/// no colour repeats within a figure, whatever the number of classes.

#include <cstddef>
#include <string>
#include <vector>

namespace scx::report {

/// @p n distinct "#rrggbb" colours, one per class in class order. Up to 14 classes: the
/// method palette (svg::palette, Okabe-Ito then Tol's muted set). More: evenly spaced hues
/// with the lightness alternating dark / light (the last of an odd number in between), so
/// classes next to each other in hue differ in lightness too. The same @p n always gives the
/// same colours.
[[nodiscard]] std::vector<std::string> distinct_palette(std::size_t n);

} // namespace scx::report
