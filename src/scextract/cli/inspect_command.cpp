/// @file inspect_command.cpp
/// @brief `scextract inspect PATH [--json]`.

#include "scextract/cli/command.hpp"
#include "scextract/io/input_summary.hpp"
#include "scextract/io/scx_summary.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"

#include <iostream>

namespace scx::cli {

Command add_inspect_command(CLI::App& root, GlobalOptions&) {
    struct Args {
        std::string path;
        bool json = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("inspect", "describe an .h5ad, 10x or CSV input (shape, encodings, columns, keys) "
                                               "or a model checkpoint (config, tensors, unused keys), "
                                               "or an operator (.scxop) / algorithm (.scx) file");
    app->add_option("path", args->path,
                    "input file or 10x folder; or a checkpoint folder with args.json, or a .pt / .safetensors file; "
                    "or a .scxop / .scx file")
        ->required();
    app->add_flag("--json", args->json, "print machine-readable JSON instead of text");
    return {app, [args](const Console&) {
                if (is_scx_file(args->path)) {
                    const auto summary = summarize_scx_file(args->path);
                    if (args->json) std::cout << summary.dump(2) << "\n";
                    else std::cout << format_scx_summary(summary);
                    return;
                }
                if (is_checkpoint_path(args->path)) {
                    const auto summary = summarize_checkpoint(args->path);
                    if (args->json) std::cout << summary.dump(2) << "\n";
                    else std::cout << format_checkpoint_summary(summary);
                    return;
                }
                const auto summary = summarize_input(args->path);
                if (args->json) std::cout << summary.dump(2) << "\n";
                else std::cout << format_input_summary(summary);
            }};
}

} // namespace scx::cli
