/// @file ruler_command.cpp
/// @brief `scextract ruler check|show|export-default|build-lr`: validate, describe and export the
/// stage graph that Stage 2 uses as its distance target (issue 4), or build a ligand-receptor one (issue 20).

#include "scextract/api/input_cells.hpp"
#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/label_map.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/lr_ruler.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scx::cli {

namespace {

constexpr const char* kDefaultName = "default";

std::string count_of(std::int64_t n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string source_label(const std::string& source) {
    return source == kDefaultName ? "built-in ruler (data/rulers/hematopoiesis.json)" : source;
}

nlohmann::ordered_json summary_json(const Ruler& r, const std::string& source) {
    nlohmann::ordered_json j;
    j["source"] = source_label(source);
    j["name"] = r.name;
    j["n_stages"] = r.stages.size();
    j["n_edges"] = r.edges.size();
    j["n_branches"] = r.branches.size();
    j["n_labels"] = r.labels.size();
    j["root"] = r.root;
    j["distances"] = r.explicit_distances ? "explicit matrix" : "graph hops";
    return j;
}

std::string summary_line(const Ruler& r, const std::string& source, std::int64_t max_depth) {
    return fmt::format("ruler '{}' ({}): {} stages, {} edges, {} branches, {} labels, root '{}', depth 0..{}, distances: {}",
                       r.name, source_label(source), r.stages.size(), r.edges.size(), r.branches.size(), r.labels.size(),
                       r.root, max_depth, r.explicit_distances ? "explicit matrix" : "graph hops");
}

void run_check(const std::string& source, const std::string& labels_from, const std::string& label_key,
               const std::string& label_map, bool as_json, const Console& console) {
    const auto ruler = load_ruler_with_label_map(source, label_map);
    std::vector<std::pair<std::string, std::int64_t>> label_counts;
    std::vector<std::string> labels;
    if (!labels_from.empty()) {
        label_counts = obs_label_counts(labels_from, label_key);
        for (const auto& [l, c] : label_counts) labels.push_back(l);
    }
    const auto res = check_ruler(ruler, labels);
    std::map<std::string, std::int64_t> stage_of;
    for (const auto& [l, s] : res.mapped_labels) stage_of[l] = s;

    if (as_json) {
        auto j = summary_json(ruler, source);
        j["ok"] = res.ok;
        j["max_depth"] = res.max_depth;
        j["errors"] = res.errors;
        j["warnings"] = res.warnings;
        auto branches = nlohmann::ordered_json::object();
        for (const auto& b : res.branch_counts) branches[b.branch] = b.n_stages;
        j["branch_stage_counts"] = std::move(branches);
        if (!labels_from.empty()) {
            nlohmann::ordered_json lj;
            lj["input"] = labels_from;
            lj["label_key"] = label_key;
            auto rows = nlohmann::ordered_json::array();
            for (const auto& [l, count] : label_counts) {
                nlohmann::ordered_json row;
                row["label"] = l;
                row["n_cells"] = count;
                if (const auto it = stage_of.find(l); it != stage_of.end()) {
                    const auto& st = ruler.stages[static_cast<std::size_t>(it->second)];
                    row["stage"] = st.name;
                    row["branch"] = st.branch;
                    row["depth"] = st.depth;
                } else {
                    row["stage"] = nullptr;
                }
                rows.push_back(std::move(row));
            }
            lj["labels"] = std::move(rows);
            lj["unknown_labels"] = res.unknown_labels;
            j["labels_from"] = std::move(lj);
        }
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << summary_line(ruler, source, res.max_depth) << "\n";
        for (const auto& b : res.branch_counts)
            std::cout << fmt::format("  branch {}: {}\n", b.branch, count_of(b.n_stages, "stage", "stages"));
        if (!labels_from.empty()) {
            std::cout << fmt::format("labels of {} obs['{}']: {} of {} map to a stage\n", labels_from, label_key,
                                     res.mapped_labels.size(), label_counts.size());
            for (const auto& [l, count] : label_counts) {
                if (const auto it = stage_of.find(l); it != stage_of.end()) {
                    const auto& st = ruler.stages[static_cast<std::size_t>(it->second)];
                    std::cout << fmt::format("  {} ({}) -> {} (branch {}, depth {})\n", l, count_of(count, "cell", "cells"),
                                             st.name, st.branch, st.depth);
                } else {
                    std::cout << fmt::format("  {} ({}) -> unknown\n", l, count_of(count, "cell", "cells"));
                }
            }
            if (!res.unknown_labels.empty())
                std::cout << fmt::format("unknown labels: {}\n", fmt::join(res.unknown_labels, ", "));
        }
        std::cout << (res.ok ? "ok\n" : fmt::format("FAILED: {} error(s)\n", res.errors.size()));
    }
    std::cout.flush();
    for (const auto& w : res.warnings) console.warn(w);
    if (!res.ok) {
        for (const auto& e : res.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
        throw Error(fmt::format("{}: the ruler fails {} check(s), listed above", source_label(source), res.errors.size()));
    }
}

void run_show(const std::string& source, bool as_json) {
    const auto ruler = load_ruler(source);
    if (as_json) {
        std::cout << ruler_to_json(ruler).dump(2) << "\n";
        return;
    }
    const auto res = check_ruler(ruler);
    std::cout << summary_line(ruler, source, res.max_depth) << "\n";
    if (!ruler.description.empty()) std::cout << "\n" << ruler.description << "\n";
    if (!ruler.sources.empty()) {
        std::cout << "\nsources:\n";
        for (const auto& s : ruler.sources) std::cout << "  - " << s << "\n";
    }
    std::vector<std::int64_t> n_labels(ruler.stages.size(), 0);
    for (const auto& [l, s] : ruler.labels)
        if (s >= 0 && s < static_cast<std::int64_t>(n_labels.size())) ++n_labels[static_cast<std::size_t>(s)];
    std::size_t width = 5;
    for (const auto& st : ruler.stages) width = std::max(width, st.name.size());
    for (const auto& b : res.branch_counts) {
        std::cout << fmt::format("\nbranch {} ({})\n", b.branch, count_of(b.n_stages, "stage", "stages"));
        std::vector<std::size_t> members;
        for (std::size_t s = 0; s < ruler.stages.size(); ++s)
            if (ruler.stages[s].branch == b.branch) members.push_back(s);
        std::stable_sort(members.begin(), members.end(),
                         [&](std::size_t a, std::size_t c) { return ruler.stages[a].depth < ruler.stages[c].depth; });
        for (const auto s : members) {
            const auto& st = ruler.stages[s];
            std::cout << fmt::format("  depth {}  {:<{}}  {:>2} labels  {}\n", st.depth, st.name, width, n_labels[s],
                                     st.description);
        }
    }
    if (!res.ok)
        std::cout << fmt::format("\nthe ruler fails {} check(s); run `scextract ruler check` for the list\n", res.errors.size());
}

void run_export_default(const std::string& out) {
    write_text_atomically(out, default_hematopoiesis_ruler_json());
}

} // namespace

Command add_ruler_command(CLI::App& root, GlobalOptions&) {
    struct Args {
        std::string check_file, show_file = kDefaultName, labels_from, label_key = "cell_type", label_map, out;
        bool json = false;
        BuildLrRulerOptions lr;
    };
    auto args = std::make_shared<Args>();
    args->lr.resource = SCX_DATA_DIR "/lr/cellphonedb_v4_human.tsv";
    auto* app = root.add_subcommand("ruler", "validate, show or export a ruler: the stage graph (stages with depth and branch, "
                                             "edges, label mappings) whose distances Stage 2 fits");
    app->require_subcommand(1);

    auto* check = app->add_subcommand("check", "validate a ruler: connected, one root at depth 0, depth = hops from the root, "
                                               "declared branches, label conflicts; exit 1 listing every error");
    check->add_option("ruler", args->check_file, "ruler JSON file, or 'default' for the built-in hematopoiesis ruler")
        ->required();
    auto* from = check->add_option("--labels-from", args->labels_from,
                                   "a dataset (.h5ad, 10x, CSV) whose cell-type labels are mapped to stages and reported");
    check->add_option("--label-key", args->label_key, "obs column holding the cell-type labels")
        ->capture_default_str()
        ->needs(from);
    check->add_option("--label-map", args->label_map,
                      "TSV of label<TAB>stage added to the ruler's labels, ahead of its synonyms (checked with it)");
    check->add_flag("--json", args->json, "print machine-readable JSON instead of text");

    auto* show = app->add_subcommand("show", "summarise a ruler: sources, branches, stages by depth");
    show->add_option("ruler", args->show_file, "ruler JSON file, or 'default' (the default) for the built-in ruler");
    show->add_flag("--json", args->json, "print the ruler itself as JSON (the file format)");

    auto* exp = app->add_subcommand("export-default", "write the built-in hematopoiesis ruler as JSON, to start a custom ruler");
    exp->add_option("--out", args->out, "output JSON file")->required();

    auto* lr = app->add_subcommand("build-lr", "build a ligand-receptor interaction-path ruler over the cell types of a data set "
                                               "(the second manifold): edge 1/sqrt(linking pairs), distance = shortest path");
    auto& b = args->lr;
    lr->add_option("--data", b.data, "cells (.h5ad, 10x, CSV); a gene is detected where its value is non-zero")->required();
    lr->add_option("--label-key", b.label_key, "obs column with cell-type labels")->capture_default_str();
    auto* lr_layer = lr->add_option("--layer", b.layer, "read this layer instead of X");
    lr->add_flag("--raw", b.raw, "read raw.X")->excludes(lr_layer);
    lr->add_option("--gene-column", b.gene_column, "var column with gene symbols (default: automatic)");
    lr->add_option("--resource", b.resource, "ligand-receptor TSV with 'ligand' and 'receptor' columns (default: the shipped "
                                             "CellPhoneDB v4 human table, data/lr/)")
        ->capture_default_str();
    lr->add_option("--min-fraction", b.ruler.min_fraction, "a type expresses a gene detected in at least this share of its cells")
        ->capture_default_str();
    lr->add_option("--min-cells", b.ruler.min_cells, "cell types with fewer cells are left out")->check(CLI::PositiveNumber)->capture_default_str();
    lr->add_option("--branches", b.ruler.branches, "farthest-point groups of cell types, for the leave-branch gate")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    lr->add_option("--name", b.ruler.name, "ruler name")->capture_default_str();
    lr->add_option("--out", b.out, "ruler JSON to write")->required();

    return {app, [args, check, show, exp, lr](const Console& console) {
                if (check->parsed()) run_check(args->check_file, args->labels_from, args->label_key, args->label_map, args->json, console);
                else if (show->parsed()) run_show(args->show_file, args->json);
                else if (lr->parsed()) {
                    const auto built = build_lr_ruler_file(args->lr, console.messages());
                    console.info(fmt::format("wrote {}: {} cell types, {} linking pairs, root '{}'", args->lr.out,
                                             built.ruler.stages.size(), built.pairs_linking, built.ruler.root));
                } else if (exp->parsed()) {
                    run_export_default(args->out);
                    console.info(fmt::format("wrote {}", args->out));
                }
            }};
}

} // namespace scx::cli
