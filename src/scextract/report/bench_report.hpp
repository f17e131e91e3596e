#pragma once
/// @file bench_report.hpp
/// @brief The benchmark report: one self-contained HTML page (inline CSS and SVG, no
/// JavaScript, no external resources) rendered from a results.json of `scextract bench`.
///
/// The page holds the dataset and split summary; the endpoint table (mean ± sd over splits
/// per method, "n/a" where not applicable, the best per column highlighted, pseudotime
/// endpoints split into supervised and unsupervised columns); the comparisons with the
/// reference (Wilcoxon over splits and over donors, n, differences, p, BH q, the test used,
/// significance); methods and runtimes; and four figures with ids "fig-pseudotime",
/// "fig-roc", "fig-splits" and "fig-manifold" (bench_report_figures.hpp). When the config
/// asks for it (`"compression_chain": true`) a section "compression-chain" follows the
/// endpoint table: size and losses against the reference per method
/// (bench_report_chain.hpp); ladder and control sections appear when those comparisons exist.

#include "scextract/report/bench_results_reader.hpp"

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace scx {

/// Renders the report of a results file (format "scextract-bench-results", version 1).
/// Throws scx::Error naming @p source and the first missing or malformed key
/// (report::parse_results()). The same JSON always gives the same bytes.
[[nodiscard]] std::string render_bench_report_html(const nlohmann::json& results,
                                                   std::string_view source = "bench results");

/// The same, from results already read.
[[nodiscard]] std::string render_bench_report_html(const report::Results& results);

} // namespace scx
