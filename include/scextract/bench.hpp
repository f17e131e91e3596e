#pragma once
/// @file bench.hpp
/// @brief A benchmark from its config file: methods on identical donor-holdout splits,
/// endpoints, statistics, and results.json, TSV tables and report.html in one folder. The
/// CLI's `bench` is this header.

#include "scextract/bench/bench_runner.hpp"
#include "scextract/core/messages.hpp"
#include "scextract/core/progress.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scx {

struct BenchFileOptions {
    std::string config;          ///< bench config (JSON; examples/bench-sim.json, docs/cli.md)
    std::string out;             ///< output folder (created; files in it are replaced)
    std::string data;            ///< replaces the config's data with this file (empty: the config's)
    std::int64_t splits = 0;     ///< replaces the config's number of splits (0: the config's)
    std::string label_map;       ///< replaces the config's data.label_map (TSV label -> stage; empty: the config's)
    int threads = 0;
    std::string command;         ///< how the run was asked for, recorded in results.json
    /// Reuse the method x splits an earlier, interrupted run of the same config and data kept
    /// in out/checkpoint/ (bench/split_checkpoint.hpp); without, that folder starts empty.
    bool resume = false;
    /// Makes the progress bar of the whole run; may be empty.
    std::function<std::unique_ptr<ProgressBar>(const std::string& label)> progress_bar;
};

struct BenchFileResult {
    BenchResult result;          ///< every method's scores and the comparisons
    std::string summary_table;   ///< mean over splits per method and endpoint, as `bench` prints it
    std::vector<std::string> files; ///< the files written into the output folder, by name
    std::int64_t resumed = 0;    ///< method x splits taken from an earlier run's checkpoint
    double seconds = 0;
};

/// Reads the config, reads or simulates the cells, runs every method on every split and
/// writes the folder. One line per method x split goes to @p messages as it finishes.
BenchFileResult bench_file(const BenchFileOptions& options, const MessageSink& messages = {});

} // namespace scx
