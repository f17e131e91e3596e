/// @file bench_command.cpp
/// @brief `scextract bench`: parse, then the library's bench_file() (include/scextract/bench.hpp), then print.

#include "scextract/bench.hpp"
#include "scextract/cli/command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx::cli {

Command add_bench_command(CLI::App& root, GlobalOptions& g) {
    auto args = std::make_shared<BenchFileOptions>();
    auto* app = root.add_subcommand("bench", "run methods on identical donor-holdout splits; write results.json, TSVs and report.html");
    app->add_option("--config", args->config, "bench config (JSON; see examples/bench-sim.json and docs/cli.md)")->required();
    app->add_option("--out", args->out, "output folder (created; files in it are replaced)")->required();
    app->add_option("--splits", args->splits, "override the config's number of splits")->check(CLI::PositiveNumber);
    app->add_flag("--resume", args->resume,
                  "continue an interrupted run: reuse the method x splits kept in OUT/checkpoint/ by an earlier run of the "
                  "same config and data (the results are the same bits)");
    app->add_option("--label-map", args->label_map, "override the config's data.label_map: " "TSV of label<TAB>stage added to the ruler's labels, ahead of its synonyms");
    app->add_option("--data", args->data, "override the config's data with this file");
    return {app, [args, &g](const Console& console) {
                (void)g;
                auto a = *args;
                a.threads = console.threads();
                a.progress_bar = [&console](const std::string& label) { return console.progress(label); };
                const auto r = bench_file(a, console.messages());
                console.info(r.summary_table);
                console.info(fmt::format("wrote {}/{{{}}} in {:.1f} s", a.out, fmt::join(r.files, ", "), r.seconds));
            }};
}

} // namespace scx::cli
