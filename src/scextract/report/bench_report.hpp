#pragma once
/// @file bench_report.hpp
/// @brief The benchmark report: one self-contained HTML page (inline CSS and SVG, no
/// JavaScript, no external resources) rendered from a results.json of `scextract bench`.
///
/// The page holds the dataset and split summary; the endpoint table (mean ± sd over splits
/// per method, "n/a" where not applicable, the best per column highlighted, pseudotime
/// endpoints split into supervised and unsupervised columns); the comparisons with the
/// reference (Wilcoxon over splits and over donors, n, differences, p, BH q, the test used,
/// significance, with a note of the smallest p the test can reach with the run's number of
/// splits and donors); methods and runtimes; and figures with ids "fig-pseudotime" (cells
/// coloured by ruler branch), "fig-roc", "fig-splits", "fig-manifold" (every method's latent,
/// picked with radio buttons styled by CSS alone, coloured by the cells' own labels, the
/// predicted or the true stage) and "fig-confusion" (true x predicted branch and stage per
/// method) (bench_report_figures.hpp). Every table sits in a horizontal scroll container, so
/// the page never overflows its width. When the config
/// asks for it (`"compression_chain": true`) a section "compression-chain" follows the
/// endpoint table: size and losses against the reference per method
/// (bench_report_chain.hpp); ladder and control sections appear when those comparisons exist.

#include "scextract/report/bench_results_reader.hpp"

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace scx {

namespace report {
/// The note above the comparisons: per unit (splits, distinct held-out donors) the smallest p
/// the paired Wilcoxon test can give with the run's number of pairs (min_attainable_p.hpp),
/// and, where that is not below the q threshold (config `fdr`), that no comparison in that
/// unit can be significant (then the paragraph has class "warn").
[[nodiscard]] std::string attainable_p_note(const Results& results);
} // namespace report

/// Renders the report of a results file (format "scextract-bench-results", version 1).
/// Throws scx::Error naming @p source and the first missing or malformed key
/// (report::parse_results()). The same JSON always gives the same bytes.
[[nodiscard]] std::string render_bench_report_html(const nlohmann::json& results,
                                                   std::string_view source = "bench results");

/// The same, from results already read.
[[nodiscard]] std::string render_bench_report_html(const report::Results& results);

} // namespace scx
