/// @file model_run_command.cpp
/// @brief `scextract model-run`: scGPT's encoder on given tokens, every output written as
/// .npy per cell, so the forward pass can be checked against PyTorch (issue 3).

#include "scextract/cli/command.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/npy.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/model/scgpt_forward.hpp"
#include "scextract/io/json_parse.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scx::cli {

namespace {

namespace fs = std::filesystem;

/// Parses tokens.json: {"cells": [{"gene_ids": [...], "values": [...]}, ...]}.
std::vector<TokenizedCell> read_tokens_json(const std::string& path, std::int64_t vocab_size) {
    const auto j = parse_json_bounded<nlohmann::json>(read_json_file_text(path, std::uint64_t{4} << 30, "tokens file"), path);
    if (!j.is_object() || !j.contains("cells") || !j.at("cells").is_array())
        throw Error(fmt::format("{}: expected an object with a \"cells\" array", path));
    const auto& cells = j.at("cells");
    if (cells.empty()) throw Error(fmt::format("{}: \"cells\" is empty", path));
    std::vector<TokenizedCell> out;
    out.reserve(cells.size());
    for (std::size_t c = 0; c < cells.size(); ++c) {
        const auto& cell = cells[c];
        if (!cell.is_object() || !cell.contains("gene_ids") || !cell.contains("values") ||
            !cell.at("gene_ids").is_array() || !cell.at("values").is_array())
            throw Error(fmt::format("{}: cell {} must be an object with \"gene_ids\" and \"values\" arrays", path, c));
        const auto& ids = cell.at("gene_ids");
        const auto& values = cell.at("values");
        if (ids.size() != values.size())
            throw Error(fmt::format("{}: cell {} has {} gene_ids but {} values", path, c, ids.size(), values.size()));
        if (ids.empty()) throw Error(fmt::format("{}: cell {} has no tokens", path, c));
        TokenizedCell t;
        t.gene_ids.reserve(ids.size());
        t.values.reserve(values.size());
        for (std::size_t k = 0; k < ids.size(); ++k) {
            const auto& id = ids[k];
            if (!id.is_number_integer())
                throw Error(fmt::format("{}: cell {} token {}: gene id {} is not an integer", path, c, k, json_excerpt_text(id)));
            if (id.is_number_unsigned() ? id.get<std::uint64_t>() >= static_cast<std::uint64_t>(vocab_size)
                                        : (id.get<std::int64_t>() < 0 || id.get<std::int64_t>() >= vocab_size))
                throw Error(fmt::format("{}: cell {} token {}: gene id {} is outside the vocabulary (0..{})", path, c,
                                        k, json_excerpt_text(id), vocab_size - 1));
            t.gene_ids.push_back(id.get<std::int64_t>());
            if (!values[k].is_number())
                throw Error(
                    fmt::format("{}: cell {} token {}: value {} is not a number", path, c, k, json_excerpt_text(values[k])));
            t.values.push_back(values[k].get<float>());
        }
        out.push_back(std::move(t));
    }
    return out;
}

/// Accepts @p dir when absent, empty, or (with @p force) not empty; OutputFolder creates it.
void check_out_dir(const std::string& dir, bool force) {
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: exists and is not a directory", dir));
        if (!force && !fs::is_empty(dir, ec))
            throw Error(fmt::format("{}: directory is not empty (use --force to write into it)", dir));
    }
}

} // namespace

Command add_model_run_command(CLI::App& root, GlobalOptions&) {
    struct Args {
        std::string model, tokens, out;
        std::int64_t batch_size = 8;
        bool force = false;
    };
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("model-run",
                                    "run scGPT's encoder on given tokens and write each cell's hidden states, "
                                    "attention maps, mean and first-token embeddings as .npy (for verification)");
    app->add_option("--model", args->model, "checkpoint directory (args.json, vocab.json, weights) or weights file")
        ->required();
    app->add_option("--tokens", args->tokens,
                    "tokens.json: {\"cells\": [{\"gene_ids\": [...], \"values\": [...]}, ...]}")
        ->required();
    app->add_option("--out", args->out, "output directory (created; must be empty unless --force)")->required();
    app->add_option("--batch-size", args->batch_size, "cells per work chunk; results do not depend on it")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app->add_flag("--force", args->force, "write into a non-empty output directory");
    return {app, [args](const Console& console) {
                const auto ckpt = load_scgpt_checkpoint(args->model);
                console.detail(fmt::format("read {} ({})", ckpt.weights_file, ckpt.format));
                const auto vocab_size = static_cast<std::int64_t>(ckpt.vocab.size());
                const auto cells = read_tokens_json(args->tokens, vocab_size);
                check_out_dir(args->out, args->force);
                // a failed or interrupted run leaves no folder it made, and no file it wrote
                OutputFolder folder(args->out, true);
                std::vector<fs::path> written;
                struct RemoveUnlessDone {
                    std::vector<fs::path>& files;
                    bool done = false;
                    ~RemoveUnlessDone() {
                        std::error_code ec;
                        if (!done)
                            for (const auto& f : files) fs::remove(f, ec);
                    }
                } written_guard{written};

                const auto n_layers = static_cast<std::int64_t>(ckpt.weights.layers.size());
                const std::int64_t n_heads = ckpt.weights.config.n_heads;
                const std::int64_t d = ckpt.weights.config.d_model;
                const auto n_cells = static_cast<std::int64_t>(cells.size());

                // Cells run in groups so only one group's attention maps are held at a time;
                // a cell's results do not depend on the cells it runs with.
                const std::int64_t group = std::max<std::int64_t>(1, args->batch_size * console.threads());
                auto bar = console.progress("model-run");
                for (std::int64_t g0 = 0; g0 < n_cells; g0 += group) {
                    const std::int64_t g1 = std::min(n_cells, g0 + group);
                    const std::vector<TokenizedCell> part(cells.begin() + g0, cells.begin() + g1);
                    std::vector<std::vector<float>> attn(part.size());
                    for (std::size_t i = 0; i < part.size(); ++i) {
                        const auto len = static_cast<std::int64_t>(part[i].gene_ids.size());
                        if (len > std::numeric_limits<std::int64_t>::max() / len / n_layers / n_heads)
                            throw Error(fmt::format("{}: cell {} is too long", args->tokens, g0 + i));
                        attn[i].assign(static_cast<std::size_t>(n_layers * n_heads * len * len), 0.0F);
                    }
                    ScGptForwardOptions opt;
                    opt.threads = console.threads();
                    opt.batch_size = args->batch_size;
                    opt.want_hidden = true;
                    opt.want_first = true;
                    opt.want_mean = true;
                    // Each call writes only its own cell's buffer, so concurrent chunks never collide.
                    AttentionCallback collect([&attn, n_heads](const AttentionSlice& s) {
                        const auto ll = static_cast<std::size_t>(s.length * s.length);
                        const auto map = static_cast<std::size_t>(s.layer * n_heads + s.head);
                        std::memcpy(attn[static_cast<std::size_t>(s.cell)].data() + map * ll, s.probs,
                                    ll * sizeof(float));
                    });
                    opt.visitor = &collect;
                    const auto res = run_scgpt_forward(ckpt.weights, part, opt);

                    const fs::path out(args->out);
                    for (std::size_t i = 0; i < part.size(); ++i) {
                        const auto c = g0 + static_cast<std::int64_t>(i);
                        const auto len = static_cast<std::int64_t>(part[i].gene_ids.size());
                        const auto put = [&](const char* kind, const auto&... data) {
                            const auto file = out / fmt::format("{}_{}.npy", kind, c);
                            write_npy(file, data...);
                            written.push_back(file); // only what this run wrote is removed
                        };
                        put("hidden", res.hidden[i]);
                        const std::array<std::int64_t, 4> attn_shape{res.n_layers_run, n_heads, len, len};
                        put("attn", attn[i].data(), attn_shape);
                        const std::array<std::int64_t, 1> vec_shape{d};
                        const RowMatrixF mean_row = res.mean.row(static_cast<Eigen::Index>(i));
                        const RowMatrixF first_row = res.first.row(static_cast<Eigen::Index>(i));
                        put("mean", mean_row.data(), vec_shape);
                        put("first", first_row.data(), vec_shape);
                    }
                    bar->update(g1, n_cells);
                }
                bar->finish();
                written_guard.done = true;
                folder.keep();
                console.info(fmt::format("wrote {} cells ({} layers, {} heads, d={}) to {}", n_cells, n_layers,
                                         n_heads, d, args->out));
            }};
}

} // namespace scx::cli
