/// @file apply_command.cpp
/// @brief `scextract apply`: an algorithm file on new cells, written into a copy of the input.

#include "scextract/cli/command.hpp"
#include "scextract/cli/input_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_annotation_writer.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <chrono>

#include <fmt/format.h>

namespace scx::cli {

namespace {

/// A categorical obs column from per-cell class names (categories in @p order).
Column categorical_of(const std::vector<std::string>& values, const std::vector<std::string>& order) {
    Categorical c;
    std::vector<std::int32_t> codes;
    codes.reserve(values.size());
    for (const auto& v : values) {
        const auto it = std::find(order.begin(), order.end(), v);
        codes.push_back(it == order.end() ? -1 : static_cast<std::int32_t>(it - order.begin()));
    }
    c.codes = NdArray::from(codes, {static_cast<std::int64_t>(codes.size())});
    c.categories = StringArray{{static_cast<std::int64_t>(order.size())}, order};
    return c;
}

Column doubles(const Eigen::VectorXd& v) {
    return NdArray::from(std::vector<double>(v.data(), v.data() + v.size()), {v.size()});
}

/// One obs column apply writes. The in-memory and the streamed outputs both come from
/// obs_outputs() and column_of(), so they cannot drift apart.
struct ObsOutput {
    enum class What { depth, branch, stage, probability, recon_error, detected_fraction };
    std::string name;
    What what;
    const AlgorithmReadout* readout = nullptr; ///< its readout (categoricals: the classes; probabilities: the task)
};

std::vector<ObsOutput> obs_outputs(const Algorithm& algorithm) {
    using W = ObsOutput::What;
    std::vector<ObsOutput> out;
    for (const auto& ro : algorithm.readouts)
        if (ro.kind == "regression") {
            out.push_back({"scx_depth", W::depth, &ro});
            break;
        }
    for (const auto& [task, what] : {std::pair{"branch", W::branch}, std::pair{"stage", W::stage}})
        if (const auto* ro = algorithm.readout(task); ro && ro->kind == "softmax") out.push_back({fmt::format("scx_{}", task), what, ro});
    for (const auto& ro : algorithm.readouts)
        if (ro.kind == "binary") out.push_back({fmt::format("scx_p_{}", ro.task), W::probability, &ro});
    out.push_back({"scx_recon_error", W::recon_error});
    out.push_back({"scx_detected_fraction", W::detected_fraction});
    return out;
}

/// The rows of @p o held by @p r: float64 numbers, a categorical, or float32 detected fractions.
Column column_of(const ObsOutput& o, const AlgorithmApplyResult& r) {
    using W = ObsOutput::What;
    switch (o.what) {
    case W::depth: return doubles(r.depth);
    case W::branch: return categorical_of(r.branch, o.readout->classes);
    case W::stage: return categorical_of(r.stage, o.readout->classes);
    case W::probability:
        for (const auto& [task, p] : r.probabilities)
            if (task == o.readout->task) return doubles(p);
        throw Error(fmt::format("apply: no probabilities for task '{}'", o.readout->task));
    case W::recon_error: return doubles(r.reconstruction_error.cast<double>());
    case W::detected_fraction:
        return NdArray::from(r.detected_fraction, {static_cast<std::int64_t>(r.detected_fraction.size())});
    }
    throw Error("unreachable");
}

/// uns['scx']: what was applied to what.
Mapping provenance(const Algorithm& algorithm, const std::string& algorithm_path, const PanelMatch& panel,
                   const std::string& matrix_source) {
    Mapping prov;
    prov.set("algorithm", Element{StringArray{{}, {algorithm_path}}});
    prov.set("algorithm_provenance", Element{StringArray{{}, {algorithm.provenance_json}}});
    prov.set("features", Element{StringArray{{}, {algorithm.features.description}}});
    prov.set("panel_genes", Element{NdArray::scalar<std::int64_t>(algorithm.features.n_genes())});
    prov.set("panel_genes_missing", Element{NdArray::scalar<std::int64_t>(static_cast<std::int64_t>(panel.missing.size()))});
    prov.set("matrix", Element{StringArray{{}, {matrix_source}}});
    prov.set("scextract_version", Element{StringArray{{}, {SCX_VERSION}}});
    for (const auto& ro : algorithm.readouts) {
        if (ro.kind == "binary")
            prov.set(fmt::format("scx_p_{}", ro.task),
                     Element{StringArray{{}, {fmt::format("P({} vs {})", ro.classes.at(1), ro.classes.at(0))}}});
    }
    return prov;
}

void warn_missing(const PanelMatch& panel, const std::string& input, const Console& console) {
    if (!panel.missing.empty())
        console.warn(fmt::format("{} of the algorithm's {} panel genes are absent from {}; they are zero-filled",
                                 panel.missing.size(), panel.column.size(), input));
}

struct Args {
    std::string algorithm, input, out, layer, gene_column;
    bool raw = false;
    bool exact_features = false;
    double max_missing = 0.5;
    std::int64_t chunk_size = 20000;
};

/// Runs @p fn, naming @p input in errors that name no file yet (the reader's, the count
/// check's and the writer's already do).
template <class Fn> auto about_input(const Args& a, Fn&& fn) {
    try {
        return fn();
    } catch (const Error& e) {
        const std::string what = e.what();
        if (what.rfind(a.input, 0) == 0 || what.rfind(a.out, 0) == 0) throw;
        throw Error(fmt::format("{}: {}", a.input, what));
    }
}

/// A current-encoding h5ad: read a chunk at a time and written into the copy a chunk at a time.
std::int64_t apply_streamed(const Args& a, const Algorithm& algorithm, AlgorithmApplyOptions o, const Console& console) {
    const auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw, .metadata_only = true});
    const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, console);
    const auto panel = about_input(a, [&] { return match_algorithm_panel(algorithm, symbols, o); });
    warn_missing(panel, a.input, console);
    const auto hint = counts_hint(d, a.layer, a.raw);
    o.check_block = [&](const CsrMatrix& block, std::int64_t first_row) {
        require_counts(inspect_values(block, {.threads = o.threads}),
                       fmt::format("{} {} (cells {}-{})", a.input, d.matrix_source, first_row, first_row + block.n_rows), hint);
    };

    H5adRowReader reader(a.input, {a.layer, a.raw});
    H5adAnnotationWriter w(a.input, a.out);
    const auto outputs = obs_outputs(algorithm);
    w.add_obsm("X_scx", algorithm.latent_dim());
    for (const auto& out : outputs) {
        if (out.what == ObsOutput::What::branch || out.what == ObsOutput::What::stage)
            w.add_obs_categorical(out.name, out.readout->classes);
        else w.add_obs_numeric(out.name, out.what == ObsOutput::What::detected_fraction ? DType::float32 : DType::float64);
    }
    w.set_uns("scx", Element{provenance(algorithm, a.algorithm, panel, d.matrix_source)});

    auto bar = console.progress("apply");
    o.progress = bar->callback();
    about_input(a, [&] {
        return apply_algorithm_streamed(algorithm, reader, symbols, o, [&](std::int64_t first, AlgorithmApplyResult& chunk) {
            w.write_obsm("X_scx", first, chunk.latent);
            for (const auto& out : outputs) w.write_obs(out.name, first, column_of(out, chunk));
        });
    });
    bar->finish();
    w.commit();
    return reader.n_rows();
}

/// 10x, CSV and anndata <= 0.7 inputs: read whole, written whole.
std::int64_t apply_in_memory(const Args& a, const Algorithm& algorithm, const AlgorithmApplyOptions& o, const Console& console) {
    auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw});
    const auto values = inspect_values(d.matrix, {.threads = o.threads});
    require_counts(values, fmt::format("{} {}", a.input, d.matrix_source), counts_hint(d, a.layer, a.raw));
    const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, console);
    const auto r = about_input(a, [&] { return apply_algorithm(algorithm, d.matrix, symbols, o); });
    warn_missing(r.panel, a.input, console);
    H5adAdditions add;
    const auto n = r.latent.rows(), k = r.latent.cols();
    add.obsm.set("X_scx", Element{NdArray::from(std::vector<float>(r.latent.data(), r.latent.data() + r.latent.size()), {n, k})});
    for (const auto& out : obs_outputs(algorithm)) add.obs_columns.emplace_back(out.name, column_of(out, r));
    add.uns.set("scx", Element{provenance(algorithm, a.algorithm, r.panel, d.matrix_source)});
    write_dataset_with_additions(a.input, std::move(d), a.out, add);
    return n;
}

} // namespace

Command add_apply_command(CLI::App& root, GlobalOptions& g) {
    auto args = std::make_shared<Args>();
    auto* app = root.add_subcommand("apply", "place new cells with an algorithm file (no model needed); writes a copy of the input");
    app->add_option("--algorithm", args->algorithm, "algorithm file from `scextract fit` (.scx)")->required();
    app->add_option("--input", args->input, "cells to annotate (.h5ad, 10x, CSV) with raw counts")->required();
    app->add_option("--out", args->out, "output .h5ad: the input with obsm['X_scx'], obs['scx_*'] and uns['scx']")->required();
    auto* layer = app->add_option("--layer", args->layer, "take counts from this layer instead of X");
    app->add_flag("--raw", args->raw, "take counts from raw.X")->excludes(layer);
    app->add_option("--gene-column", args->gene_column, "var column with gene symbols (default: automatic)");
    app->add_option("--max-missing", args->max_missing, "refuse input missing more than this fraction of the panel")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app->add_option("--chunk-size", args->chunk_size,
                    "cells per chunk when streaming an .h5ad (rounded up to a multiple of 256); memory grows with it, "
                    "the results do not change")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
        ->capture_default_str();
    app->add_flag("--exact-features", args->exact_features,
                  "form every cell's features as fit does, instead of the folded plan low-rank and sparse-factor "
                  "algorithms use by default (same results up to rounding, several times slower)");
    return {app, [args, &g](const Console& console) {
                (void)g;
                const auto& a = *args;
                refuse_overwriting_input(a.input, a.out);
                const auto t0 = std::chrono::steady_clock::now();
                const auto algorithm = read_algorithm_file(a.algorithm);
                AlgorithmApplyOptions o;
                o.max_missing_fraction = a.max_missing;
                o.threads = console.threads();
                o.chunk_rows = a.chunk_size;
                o.exact_features = a.exact_features;
                // anndata >= 0.8 files stream; other inputs have no row-block reader (or, for
                // anndata <= 0.7, no layout a copy can be amended in), so they load whole
                const bool stream = detect_input_format(a.input) == InputFormat::h5ad &&
                                    read_h5ad_layout(a.input) == H5adLayout::modern;
                const auto n = stream ? apply_streamed(a, algorithm, o, console) : apply_in_memory(a, algorithm, o, console);
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                console.info(fmt::format("placed {} cells ({}-D latent) in {:.2f} s{}; wrote {}", n, algorithm.latent_dim(),
                                         seconds, stream ? " (streamed)" : "", a.out));
            }};
}

} // namespace scx::cli
