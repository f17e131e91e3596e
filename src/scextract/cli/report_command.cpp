/// @file report_command.cpp
/// @brief `scextract report`: re-renders the self-contained HTML benchmark report from a
/// results.json written by `scextract bench` (report/bench_report.hpp).

#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/report/bench_report.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/json_parse.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scx::cli {

namespace {

nlohmann::json read_results_json(const std::string& path) {
    // results.json holds per-cell tables for a few hundred thousand cells at most
    return parse_json_bounded<nlohmann::json>(read_json_file_text(path, std::uint64_t{4} << 30, "bench results file"), path);
}

void write_text(const std::string& path, const std::string& text) { write_text_atomically(path, text); }

} // namespace

Command add_report_command(CLI::App& root, GlobalOptions&) {
    struct Args {
        std::string results, out;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("report", "render the benchmark report (one self-contained HTML file with tables "
                                              "and inline SVG figures) from the results.json of 'scextract bench'");
    app->add_option("--results", args->results, "results.json written by 'scextract bench'")->required();
    app->add_option("--out", args->out, "HTML file to write (replaced atomically)")->required();

    return {app, [args](const Console& console) {
                refuse_overwriting_input(args->results, args->out);
                // Render before opening the output, so a bad results file leaves nothing behind.
                const auto html = render_bench_report_html(read_results_json(args->results), args->results);
                write_text(args->out, html);
                console.info(fmt::format("wrote {} ({} bytes)", args->out, html.size()));
            }};
}

} // namespace scx::cli
