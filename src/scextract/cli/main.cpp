/// @file main.cpp
/// @brief The scextract command line: global options, subcommands, exit codes
/// (0 ok, 1 runtime or input error, 2 usage error).

#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/io/live_temporaries.hpp"

#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace scx::cli {

void Console::info(const std::string& msg) const {
    if (!g_.quiet) std::fprintf(stderr, "%s\n", msg.c_str());
}
void Console::detail(const std::string& msg) const {
    if (g_.verbose && !g_.quiet) std::fprintf(stderr, "%s\n", msg.c_str());
}
void Console::warn(const std::string& msg) const {
    if (!g_.quiet) std::fprintf(stderr, "warning: %s\n", msg.c_str());
}
std::unique_ptr<ProgressBar> Console::progress(const std::string& label) const {
    return std::make_unique<ProgressBar>(label, !g_.quiet && stderr_is_tty());
}
int Console::threads() const { return g_.threads > 0 ? g_.threads : default_thread_count(); }
MessageSink Console::messages() const {
    return {[this](const std::string& m) { info(m); }, [this](const std::string& m) { warn(m); }};
}

namespace {

/// The command's main input as given on the command line (its first input option), for the
/// rare failure that carries no file of its own; empty when the command names none.
std::string main_input(const CLI::App& command) {
    const CLI::App* app = &command;
    while (!app->get_subcommands().empty()) app = app->get_subcommands().front(); // e.g. `ruler check`
    for (; app != nullptr; app = app->get_parent())
        for (const char* name : {"input", "--input", "--algorithm", "--train", "--reference", "--config", "--operator",
                                 "--operators", "--ruler", "--model", "--results", "file", "path"})
            if (const auto* o = app->get_option_no_throw(name); o != nullptr && o->count() > 0)
                return o->results().front();
    return {};
}

/// One line for an exception that is not one of ours: the standard library's own text
/// (`vector::_M_range_check: __n ...`) means nothing to a user, so it is replaced by what
/// went wrong and the file the command was reading.
std::string internal_failure(const std::exception& e, const std::string& input) {
    const std::string file = input.empty() ? std::string("the input") : input;
    if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr)
        return fmt::format("{}: not enough memory to process this input (a size in it may be implausible)", file);
    if (dynamic_cast<const std::length_error*>(&e) != nullptr)
        return fmt::format("{}: a size declared in this input is too large to hold", file);
    if (dynamic_cast<const std::out_of_range*>(&e) != nullptr)
        return fmt::format("{}: an index or count in this input is out of range (a list shorter than declared?)", file);
    return {};
}

} // namespace

} // namespace scx::cli

int main(int argc, char** argv) {
    using namespace scx::cli;
    GlobalOptions global;
    CLI::App app{"scextract: standalone algorithms extracted from scGPT, and the tools to build and benchmark them"};
    app.set_version_flag("--version", std::string("scextract ") + SCX_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("--threads", global.threads, "worker threads (default: all cores); results do not depend on it")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--seed", global.seed, "random seed for everything random")->capture_default_str();
    auto* quiet = app.add_flag("-q,--quiet", global.quiet, "print only errors");
    app.add_flag("-v,--verbose", global.verbose, "print more detail")->excludes(quiet);

    std::vector<Command> commands;
    commands.push_back(add_inspect_command(app, global));
    commands.push_back(add_prepare_command(app, global));
    commands.push_back(add_convert_command(app, global));
    commands.push_back(add_embed_command(app, global));
    commands.push_back(add_convert_model_command(app, global));
    commands.push_back(add_model_run_command(app, global));
    commands.push_back(add_simulate_command(app, global));
    commands.push_back(add_fit_command(app, global));
    commands.push_back(add_apply_command(app, global));
    commands.push_back(add_compress_command(app, global));
    commands.push_back(add_scan_heads_command(app, global));
    commands.push_back(add_make_model_command(app, global));
    commands.push_back(add_ruler_command(app, global));
    commands.push_back(add_export_command(app, global));
    commands.push_back(add_report_command(app, global));
    commands.push_back(add_bench_command(app, global));
    commands.push_back(add_validate_command(app, global));
    commands.push_back(add_interpret_command(app, global));
    commands.push_back(add_perturb_command(app, global));
    commands.push_back(add_pseudotime_command(app, global));

    for (const auto& c : commands)
        c.app->footer("Global options --threads, --seed, --quiet and --verbose are accepted here too (see scextract --help).");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2; // --help / --version exit 0, misuse 2
    }
    const Console console(global);
    scx::remove_live_temporaries_on_signals(); // Ctrl-C or kill leaves no temporary output behind
    const CLI::App* running = nullptr;
    try {
        for (const auto& c : commands)
            if (c.app->parsed()) {
                running = c.app;
                c.run(console);
            }
    } catch (const scx::UsageError& e) {
        std::fprintf(stderr, "scextract: usage error: %s\n", e.what());
        return 2;
    } catch (const scx::Error& e) {
        std::fprintf(stderr, "scextract: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        const auto msg = internal_failure(e, running != nullptr ? main_input(*running) : std::string());
        std::fprintf(stderr, "scextract: error: %s\n", msg.empty() ? e.what() : msg.c_str());
        return 1;
    }
    return 0;
}
