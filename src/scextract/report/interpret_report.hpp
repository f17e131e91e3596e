#pragma once
/// @file interpret_report.hpp
/// @brief The interpret page: one self-contained HTML file (inline CSS and SVG, no script)
/// with the impact bar chart (fig-impact), the core subset heat map (fig-subsets), per-factor
/// gene tables with their gene programs, and the known-program recovery when given. The same
/// interpretation always gives the same bytes.

#include "scextract/interpret/interpretation.hpp"

#include <string>

namespace scx {

std::string render_interpret_report_html(const Interpretation& interpretation);

} // namespace scx
