#pragma once
/// @file command.hpp
/// @brief What every subcommand shares: global options, console output, registration.
///
/// cli/ only parses options and calls the library; each subcommand lives in its
/// own file and registers itself through a function declared here.

#include "scextract/core/messages.hpp"
#include "scextract/core/progress.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scx::cli {

/// Options accepted by every subcommand.
struct GlobalOptions {
    int threads = 0;          ///< 0 = all cores
    std::uint64_t seed = 42;  ///< master seed for anything random
    bool quiet = false;       ///< only errors
    bool verbose = false;     ///< extra detail
};

/// Messages to the user on stderr, honouring --quiet / --verbose.
class Console {
public:
    explicit Console(const GlobalOptions& g) : g_(g) {}
    void info(const std::string& msg) const;    ///< normal progress messages
    void detail(const std::string& msg) const;  ///< only with --verbose
    void warn(const std::string& msg) const;    ///< shown unless --quiet
    /// A progress bar that draws only on a TTY and never with --quiet.
    [[nodiscard]] std::unique_ptr<ProgressBar> progress(const std::string& label) const;
    [[nodiscard]] int threads() const;
    /// The library's messages, routed to info() and warn().
    [[nodiscard]] MessageSink messages() const;

private:
    const GlobalOptions& g_;
};

/// A registered subcommand: its CLI11 app and the action to run once parsed.
struct Command {
    CLI::App* app = nullptr;
    std::function<void(const Console&)> run;
};

/// Registration functions, one per subcommand file.
Command add_inspect_command(CLI::App& root, GlobalOptions& g);
Command add_prepare_command(CLI::App& root, GlobalOptions& g);
Command add_convert_command(CLI::App& root, GlobalOptions& g);
Command add_embed_command(CLI::App& root, GlobalOptions& g);
Command add_convert_model_command(CLI::App& root, GlobalOptions& g);
Command add_model_run_command(CLI::App& root, GlobalOptions& g);
Command add_simulate_command(CLI::App& root, GlobalOptions& g);
Command add_fit_command(CLI::App& root, GlobalOptions& g);
Command add_apply_command(CLI::App& root, GlobalOptions& g);
Command add_compress_command(CLI::App& root, GlobalOptions& g);
Command add_scan_heads_command(CLI::App& root, GlobalOptions& g);
Command add_make_model_command(CLI::App& root, GlobalOptions& g);
Command add_ruler_command(CLI::App& root, GlobalOptions& g);
Command add_export_command(CLI::App& root, GlobalOptions& g);
Command add_report_command(CLI::App& root, GlobalOptions& g);
Command add_bench_command(CLI::App& root, GlobalOptions& g);
Command add_validate_command(CLI::App& root, GlobalOptions& g);
Command add_interpret_command(CLI::App& root, GlobalOptions& g);
Command add_perturb_command(CLI::App& root, GlobalOptions& g);
Command add_pseudotime_command(CLI::App& root, GlobalOptions& g);

} // namespace scx::cli
