/// @file inspect_command.cpp
/// @brief `scextract inspect PATH [--json]`: the library's inspect_path() (include/scextract/inspect.hpp), printed.

#include "scextract/cli/command.hpp"
#include "scextract/inspect.hpp"

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
                const auto r = inspect_path(args->path);
                if (args->json) std::cout << r.summary.dump(2) << "\n";
                else std::cout << r.text;
            }};
}

} // namespace scx::cli
