#pragma once
/// @file html_page.hpp
/// @brief The head every scextract HTML page shares (style inline, no script, nothing
/// fetched), so the benchmark report and the interpret page read alike.

#include <string>
#include <string_view>

namespace scx::report {

/// "<!DOCTYPE html> ... <body>" with the shared style sheet, then @p extra_css (rules a page
/// adds, inserted as given), and @p title (escaped).
std::string html_page_head(std::string_view title, std::string_view extra_css = {});

} // namespace scx::report
