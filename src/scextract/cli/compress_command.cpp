/// @file compress_command.cpp
/// @brief `scextract compress`: every feature-operator variant of an operator file, with
/// its size and its error against the operator it compresses.

#include "scextract/cli/command.hpp"
#include "scextract/cli/feature_options.hpp"
#include "scextract/io/operator_file.hpp"

#include <nlohmann/json.hpp>

#include <iostream>

#include <fmt/format.h>

namespace scx::cli {

Command add_compress_command(CLI::App& root, GlobalOptions& g) {
    struct Args {
        std::string op;
        FeatureArgs features;
        std::vector<std::int64_t> ranks{8, 16, 32, 64};
        bool json = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("compress", "sizes and errors of the feature-operator variants of an operator file");
    app->add_option("--operator", args->op, "operators from `scextract export` (.scxop)")->required();
    add_feature_options(app, args->features);
    app->add_option("--ranks", args->ranks, "SVD ranks to list")->delimiter(',')->capture_default_str();
    app->add_flag("--json", args->json, "machine-readable output on stdout");
    return {app, [args, &g](const Console& console) {
                (void)g;
                const auto& a = *args;
                const auto ops = read_operator_file(a.op);
                auto spec = feature_spec(a.features);
                nlohmann::ordered_json rows = nlohmann::ordered_json::array();
                const auto add = [&](const std::string& variant, const FeatureOperator& f, const FeatureOperator* exact) {
                    nlohmann::ordered_json r;
                    r["variant"] = variant;
                    r["description"] = f.description;
                    r["features"] = f.n_features();
                    r["size_mb"] = f.size_mb();
                    if (exact != nullptr) r["relative_error"] = relative_errors(*exact, f);
                    rows.push_back(r);
                };
                spec.variant = "drift";
                add("drift", build_feature_operator(ops, spec), nullptr);
                const auto head = single_head_operator(ops, spec.layer, spec.head, spec.orientation);
                add("head", head, nullptr);
                if (!a.features.heads.empty()) {
                    spec.variant = "topk";
                    spec.heads = parse_weighted_heads(a.features.heads);
                    add("topk", build_feature_operator(ops, spec), nullptr);
                }
                for (const auto r : a.ranks) add(fmt::format("rank {}", r), low_rank_operator(head, r), &head);
                add("sparse", hard_sparse_operator(head, spec.n_factors, spec.top_genes, spec.top_genes), &head);
                if (a.json) {
                    std::cout << rows.dump(2) << "\n";
                    return;
                }
                console.info(fmt::format("{}: {} layers x {} heads over {} genes", a.op, ops.n_layers, ops.n_heads, ops.n_genes()));
                std::cout << fmt::format("{:<10} {:>9} {:>10} {:>14}  {}\n", "variant", "features", "size (MB)",
                                         "rel. error", "description");
                for (const auto& r : rows) {
                    std::string err = "-";
                    if (r.contains("relative_error")) err = fmt::format("{:.4f}", r["relative_error"][0].get<double>());
                    std::cout << fmt::format("{:<10} {:>9} {:>10.3f} {:>14}  {}\n", r["variant"].get<std::string>(),
                                             r["features"].get<std::int64_t>(), r["size_mb"].get<double>(), err,
                                             r["description"].get<std::string>());
                }
            }};
}

} // namespace scx::cli
