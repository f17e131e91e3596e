/// @file scan_heads_command.cpp
/// @brief `scextract scan-heads`: rank every attention head by how well a single-head
/// adaptor places held-out donors on the ruler.

#include "scextract/cli/command.hpp"
#include "scextract/cli/training_data.hpp"
#include "scextract/core/error.hpp"
#include "scextract/validate/head_scan.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/ruler_json.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

namespace scx::cli {

Command add_scan_heads_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string op, ruler = "default", out, orientation = "xA";
        TrainingArgs training;
        std::vector<std::string> test_donors;
        std::int64_t epochs = 400, k = 10;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("scan-heads", "rank every head by a single-head adaptor scored zero-shot on held-out donors");
    app->add_option("--operator", args->op, "operators from `scextract export` (.scxop)")->required();
    add_training_options(app, args->training);
    app->add_option("--ruler", args->ruler, "ruler JSON, or 'default'")->capture_default_str();
    app->add_option("--test-donors", args->test_donors, "held-out donors (default: the last 20% in sorted order)")->delimiter(',');
    app->add_option("--out", args->out, "table to write (.tsv); default: stdout");
    app->add_option("--epochs", args->epochs, "Adam steps of each head's adaptor")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--k", args->k, "latent dimension")->check(CLI::PositiveNumber)->capture_default_str();
    app->add_option("--orientation", args->orientation, "x A or x A^T")->check(CLI::IsMember({"xA", "xAT"}))->capture_default_str();
    return {app, [args, &g](const Console& console) {
                const auto& a = *args;
                refuse_overwriting_inputs(a.out, {a.op, a.training.path, a.ruler == "default" ? std::string() : a.ruler});
                const Ruler ruler = load_ruler(a.ruler);
                const auto ops = read_operator_file(a.op);
                const auto input = read_training_input(a.training, console);
                const auto& data = input->data;
                HeadScanOptions o;
                o.adaptor.epochs = a.epochs;
                o.adaptor.k = a.k;
                o.adaptor.seed = g.seed;
                o.test_donors = a.test_donors;
                o.orientation = parse_orientation(a.orientation);
                o.threads = console.threads();
                auto bar = console.progress("scan-heads");
                o.progress = bar->callback();
                const auto r = scan_heads(ops, ruler, data, o);
                bar->finish();
                console.info(fmt::format("fitted on donors {} ({} anchors), scored on {} ({} anchors)",
                                         fmt::join(r.train_donors, ","), r.train_anchors, fmt::join(r.test_donors, ","),
                                         r.test_anchors));
                std::string table = "rank\tlayer\thead\tscore\tscore_unadjusted\tadaptor_loss\n";
                for (std::size_t i = 0; i < r.heads.size(); ++i) {
                    const auto& h = r.heads[i];
                    table += fmt::format("{}\t{}\t{}\t{:.4f}\t{:.4f}\t{:.4g}\n", i + 1, h.layer, h.head, h.score,
                                         h.score_unadjusted, h.adaptor_loss);
                }
                if (a.out.empty()) {
                    std::cout << table;
                } else {
                    write_text_atomically(a.out, table);
                    console.info(fmt::format("wrote {} (best: L{}H{}, score {:.3f})", a.out, r.heads[0].layer,
                                             r.heads[0].head, r.heads[0].score));
                }
            }};
}

} // namespace scx::cli
