/// @file convert_command.cpp
/// @brief `scextract convert INPUT OUTPUT.h5ad`: any supported input to a current-encoding .h5ad.

#include "scextract/cli/command.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_writer.hpp"

#include <fmt/format.h>

namespace scx::cli {

Command add_convert_command(CLI::App& root, GlobalOptions&) {
    struct Args {
        std::string input, output;
        int gzip = 4;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("convert", "write any supported input (h5ad of any anndata version, 10x, CSV) as a current .h5ad");
    app->add_option("input", args->input, "input .h5ad, 10x folder or .h5, or CSV")->required();
    app->add_option("output", args->output, "output .h5ad (written atomically)")->required();
    app->add_option("--gzip", args->gzip, "gzip level 0-9 (0: uncompressed)")->check(CLI::Range(0, 9))->capture_default_str();
    return {app, [args](const Console& console) {
                refuse_overwriting_input(args->input, args->output);
                std::vector<std::string> warnings;
                const auto ad = read_as_anndata(args->input, &warnings);
                for (const auto& w : warnings) console.warn(w);
                console.detail(fmt::format("read {} ({} cells x {} genes, {} obs and {} var columns)", args->input, ad.n_obs,
                                           ad.n_vars, ad.obs.columns.size(), ad.var.columns.size()));
                write_h5ad(ad, args->output, {.gzip_level = args->gzip});
                console.info(fmt::format("wrote {} ({} cells x {} genes)", args->output, ad.n_obs, ad.n_vars));
            }};
}

} // namespace scx::cli
