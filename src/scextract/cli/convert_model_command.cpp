/// @file convert_model_command.cpp
/// @brief `scextract convert-model IN OUT`: a PyTorch state dict (.pt) or safetensors file
/// rewritten as safetensors.

#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/safetensors.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx::cli {

Command add_convert_model_command(CLI::App& root, GlobalOptions&) {
    struct Args {
        std::string input, output;
        bool keep_prefix = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("convert-model",
                                    "rewrite model weights (.pt state dict or .safetensors) as a .safetensors file; a "
                                    "wrapped state dict is unwrapped and a 'module.' prefix on every key is stripped");
    app->add_option("input", args->input, "input .pt / .pth (torch.save zip) or .safetensors")->required();
    app->add_option("output", args->output, "output .safetensors (written atomically)")->required();
    app->add_flag("--keep-module-prefix", args->keep_prefix, "keep a 'module.' prefix that every key carries");
    return {app, [args](const Console& console) {
                auto ext = std::filesystem::path(args->output).extension().string();
                std::transform(ext.begin(), ext.end(), ext.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                if (ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt")
                    throw UsageError(fmt::format("{}: writing PyTorch files is not supported; safetensors is the safe "
                                                 "format (name the output .safetensors)",
                                                 args->output));
                if (ext != ".safetensors")
                    throw UsageError(fmt::format("{}: the output must end in .safetensors", args->output));
                refuse_overwriting_input(args->input, args->output);

                auto in = read_checkpoint_tensors(args->input);
                console.detail(fmt::format("read {} ({}, {} tensors)", args->input, in.format, in.tensors.size()));
                if (!in.wrapper_key.empty())
                    console.info(fmt::format("unwrapped the state dict stored under '{}'", in.wrapper_key));
                if (!in.skipped.empty())
                    console.warn(fmt::format("{} non-tensor entries not written: {}", in.skipped.size(),
                                             fmt::join(in.skipped, ", ")));
                if (!args->keep_prefix && strip_common_prefix(in.tensors, "module."))
                    console.info("stripped the 'module.' prefix every key carried");
                auto metadata = in.metadata;
                metadata.emplace("format", "pt"); // the convention safetensors.torch and transformers expect
                write_safetensors(args->output, in.tensors, metadata);
                console.info(fmt::format("wrote {} ({} tensors)", args->output, in.tensors.size()));
            }};
}

} // namespace scx::cli
