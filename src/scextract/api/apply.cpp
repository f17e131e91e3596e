/// @file apply.cpp
/// @brief The apply contract (which obs columns, which dtypes, what provenance) in one
/// place for the in-memory, the streamed and the Python apply.

#include "scextract/apply.hpp"

#include "scextract/api/input_cells.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_annotation_writer.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/version.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>

namespace scx {

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

/// One obs column apply writes. Every front-end takes its columns from obs_outputs() and
/// column_of(), so they cannot drift apart.
struct ObsOutput {
    enum class What { depth, branch, stage, probability, recon_error, detected_fraction, ood };
    std::string name;
    What what;
    const AlgorithmReadout* readout = nullptr; ///< its readout (categoricals: the classes; probabilities: the task)
    const AlgorithmOodBounds* bounds = nullptr; ///< scx_ood: the training bounds
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
    if (algorithm.ood.available()) out.push_back({"scx_ood", W::ood, nullptr, &algorithm.ood});
    return out;
}

/// Per cell, 1 when out of distribution (core/algorithm.hpp), as a numpy bool array.
Column ood_flags(const AlgorithmOodBounds& bounds, const AlgorithmApplyResult& r) {
    const auto n = r.reconstruction_error.size();
    auto a = NdArray::zeros(DType::bool_, {n});
    auto* flag = a.data<std::uint8_t>();
    for (Eigen::Index i = 0; i < n; ++i)
        flag[i] = bounds.out_of_distribution(r.reconstruction_error(i), r.detected_fraction[static_cast<std::size_t>(i)]);
    return a;
}

/// Counts of out-of-distribution cells, added chunk by chunk in row order (so the sums do not
/// depend on the chunk size or thread count).
struct OodTally {
    ApplyOodSummary s;
    double error_sum = 0;
    std::int64_t finite_errors = 0;

    OodTally(const Algorithm& a, double warn_fraction) {
        s.available = a.ood.available();
        s.reconstruction_error_p99 = a.ood.reconstruction_error_p99;
        s.detected_fraction_p1 = a.ood.detected_fraction_p1;
        s.training_mean_reconstruction_error = a.ood.reconstruction_error_mean;
        s.warn_fraction = warn_fraction;
    }
    void add(const AlgorithmOodBounds& b, const AlgorithmApplyResult& r) {
        const auto n = r.reconstruction_error.size();
        s.cells += n;
        for (Eigen::Index i = 0; i < n; ++i) {
            const double e = r.reconstruction_error(i), d = r.detected_fraction[static_cast<std::size_t>(i)];
            if (std::isfinite(e)) error_sum += e, ++finite_errors;
            if (!b.available()) continue;
            const bool re = b.reconstruction_out(e), de = b.detected_out(d);
            s.reconstruction_out += re;
            s.detected_out += de;
            s.out += re || de;
        }
    }
    ApplyOodSummary summary() const {
        auto out = s;
        out.mean_reconstruction_error = finite_errors > 0 ? error_sum / static_cast<double>(finite_errors) : std::nan("");
        return out;
    }
};

/// uns['scx']['ood']: the counts, fractions and bounds behind obs['scx_ood'].
Mapping ood_mapping(const ApplyOodSummary& o) {
    const auto num = [](double v) { return Element{NdArray::scalar<double>(v)}; };
    const auto count = [](std::int64_t v) { return Element{NdArray::scalar<std::int64_t>(v)}; };
    const auto text = [](std::string v) { return Element{StringArray{{}, {std::move(v)}}}; };
    const auto share = [&](std::int64_t k) { return o.cells > 0 ? static_cast<double>(k) / static_cast<double>(o.cells) : 0.0; };
    Mapping m;
    auto flag = NdArray::zeros(DType::bool_, {});
    flag.data<std::uint8_t>()[0] = o.available;
    m.set("available", Element{flag});
    m.set("cells", count(o.cells));
    m.set("mean_reconstruction_error", num(o.mean_reconstruction_error));
    if (!o.available) {
        m.set("note", text("the algorithm file predates out-of-distribution bounds (scextract < issue 19); refit it to get obs['scx_ood']"));
        return m;
    }
    m.set("out_of_distribution", count(o.out));
    m.set("fraction", num(o.fraction()));
    m.set("reconstruction_error_out", count(o.reconstruction_out));
    m.set("detected_fraction_out", count(o.detected_out));
    m.set("reconstruction_error_fraction", num(share(o.reconstruction_out)));
    m.set("detected_fraction_fraction", num(share(o.detected_out)));
    m.set("reconstruction_error_p99", num(o.reconstruction_error_p99));
    m.set("detected_fraction_p1", num(o.detected_fraction_p1));
    m.set("training_mean_reconstruction_error", num(o.training_mean_reconstruction_error));
    m.set("warn_fraction", num(o.warn_fraction));
    auto warned = NdArray::zeros(DType::bool_, {});
    warned.data<std::uint8_t>()[0] = o.exceeds_warning();
    m.set("warned", Element{warned});
    m.set("definition", text("scx_ood: scx_recon_error > reconstruction_error_p99 (training 99th percentile) or "
                             "scx_detected_fraction < detected_fraction_p1 (training 1st percentile)"));
    return m;
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
    case W::ood: return ood_flags(*o.bounds, r);
    }
    throw Error("unreachable");
}

/// uns['scx']: what was applied to what.
Mapping provenance(const Algorithm& algorithm, const std::string& algorithm_path, const PanelMatch& panel,
                   const std::string& matrix_source, const ApplyOodSummary& ood) {
    Mapping prov;
    prov.set("algorithm", Element{StringArray{{}, {algorithm_path}}});
    prov.set("algorithm_provenance", Element{StringArray{{}, {algorithm.provenance_json}}});
    prov.set("features", Element{StringArray{{}, {algorithm.features.description}}});
    prov.set("panel_genes", Element{NdArray::scalar<std::int64_t>(algorithm.features.n_genes())});
    prov.set("panel_genes_missing", Element{NdArray::scalar<std::int64_t>(static_cast<std::int64_t>(panel.missing.size()))});
    prov.set("matrix", Element{StringArray{{}, {matrix_source}}});
    prov.set("scextract_version", Element{StringArray{{}, {version()}}});
    for (const auto& ro : algorithm.readouts) {
        if (ro.kind == "binary")
            prov.set(fmt::format("scx_p_{}", ro.task),
                     Element{StringArray{{}, {fmt::format("P({} vs {})", ro.classes.at(1), ro.classes.at(0))}}});
    }
    prov.set("ood", Element{ood_mapping(ood)});
    return prov;
}

void warn_missing(const PanelMatch& panel, const std::string& input, const MessageSink& messages) {
    if (!panel.missing.empty())
        messages.warning(fmt::format("{} of the algorithm's {} panel genes are absent from {}; they are zero-filled",
                                     panel.missing.size(), panel.column.size(), input));
}

AlgorithmApplyOptions pipeline_options(const ApplyOptions& o) {
    AlgorithmApplyOptions p;
    p.max_missing_fraction = o.max_missing_fraction;
    p.chunk_rows = o.chunk_rows;
    p.exact_features = o.exact_features;
    p.threads = o.threads;
    p.progress = o.progress;
    return p;
}

/// What each block holds, decided on the first (noted on @p messages) and checked on every
/// later one, naming the block's cells; log-normalised blocks become their expm1 in place.
std::function<void(CsrMatrix&, std::int64_t)> input_block(const std::string& what, const std::string& hint,
                                                           const InputValuesOptions& input, int threads,
                                                           const MessageSink& messages) {
    auto resolved = std::make_shared<std::optional<InputValues>>();
    return [=](CsrMatrix& block, std::int64_t first_row) {
        const auto cells = fmt::format("{} (cells {}-{})", what, first_row, first_row + block.n_rows);
        const auto values = inspect_values(block, {.threads = threads});
        if (!resolved->has_value()) {
            *resolved = resolve_input_values(values, input, cells, hint);
            messages.note((*resolved)->describe(what));
        } else {
            check_input_block(values, **resolved, input, cells);
        }
        to_method_values_in_place(block, **resolved, threads);
    };
}

/// Runs @p fn, naming @p input in errors that name no file yet (the reader's, the count
/// check's and the writer's already do).
template <class Fn> auto about_input(const ApplyFileOptions& a, Fn&& fn) {
    try {
        return fn();
    } catch (const Error& e) {
        const std::string what = e.what();
        if (what.rfind(a.input, 0) == 0 || what.rfind(a.out, 0) == 0 || what.rfind(a.algorithm, 0) == 0) throw;
        // the algorithm's own parts (its blocks, adaptor, readouts) are the .scx's fault, not the cells'
        const bool algorithm_fault = what.rfind("algorithm:", 0) == 0 || what.rfind("feature block", 0) == 0 ||
                                     what.rfind("readouts:", 0) == 0;
        throw Error(fmt::format("{}: {}", algorithm_fault ? a.algorithm : a.input, what));
    }
}

/// A current-encoding h5ad: read a chunk at a time and written into the copy a chunk at a time.
/// Cells placed and their out-of-distribution counts.
struct Placed {
    std::int64_t cells = 0;
    ApplyOodSummary ood;
};

Placed apply_streamed(const ApplyFileOptions& a, const Algorithm& algorithm, const MessageSink& messages) {
    const auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw, .metadata_only = true});
    const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, messages);
    auto o = pipeline_options(a.apply);
    const auto panel = about_input(a, [&] { return match_algorithm_panel(algorithm, symbols, o); });
    warn_missing(panel, a.input, messages);
    if (a.apply.check_counts)
        o.prepare_block = input_block(fmt::format("{} {}", a.input, d.matrix_source), counts_hint(d, a.layer, a.raw),
                                      a.apply.input, o.threads, messages);

    H5adRowReader reader(a.input, {a.layer, a.raw});
    H5adAnnotationWriter w(a.input, a.out, {.threads = o.threads});
    const auto outputs = obs_outputs(algorithm);
    w.add_obsm("X_scx", algorithm.latent_dim());
    for (const auto& out : outputs) {
        if (out.what == ObsOutput::What::branch || out.what == ObsOutput::What::stage)
            w.add_obs_categorical(out.name, out.readout->classes);
        else
            w.add_obs_numeric(out.name, out.what == ObsOutput::What::detected_fraction ? DType::float32
                                        : out.what == ObsOutput::What::ood           ? DType::bool_
                                                                                     : DType::float64);
    }
    OodTally tally(algorithm, a.apply.ood_warn_fraction);
    about_input(a, [&] {
        return apply_algorithm_streamed(algorithm, reader, symbols, o, [&](std::int64_t first, AlgorithmApplyResult& chunk) {
            w.write_obsm("X_scx", first, chunk.latent);
            for (const auto& out : outputs) w.write_obs(out.name, first, column_of(out, chunk));
            tally.add(algorithm.ood, chunk);
        });
    });
    // written after the cells: it holds their out-of-distribution counts
    w.set_uns("scx", Element{provenance(algorithm, a.algorithm, panel, d.matrix_source, tally.summary())});
    w.commit();
    return {reader.n_rows(), tally.summary()};
}

/// Every row of @p counts through the pipeline, gathered, in the apply contract's columns.
ApplyResult apply_gathered(const Algorithm& algorithm, RowBlockReader& counts, const std::vector<std::string>& symbols,
                           const ApplyOptions& options, const std::string& what, const std::string& hint,
                           const MessageSink& messages) {
    auto o = pipeline_options(options);
    if (options.check_counts) o.prepare_block = input_block(what, hint, options.input, o.threads, messages);
    auto all = apply_algorithm(algorithm, counts, symbols, o);
    OodTally tally(algorithm, options.ood_warn_fraction);
    tally.add(algorithm.ood, all);
    ApplyResult result;
    result.ood = tally.summary();
    for (const auto& out : obs_outputs(algorithm)) result.obs.emplace_back(out.name, column_of(out, all));
    result.latent = std::move(all.latent);
    result.panel = std::move(all.panel);
    result.uns = provenance(algorithm, options.algorithm_path, result.panel, options.matrix_source, result.ood);
    return result;
}

/// 10x, CSV and anndata <= 0.7 inputs: read whole, written whole.
Placed apply_in_memory(const ApplyFileOptions& a, const Algorithm& algorithm, const MessageSink& messages) {
    auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw});
    const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, messages);
    auto o = a.apply;
    o.algorithm_path = a.algorithm;
    o.matrix_source = d.matrix_source;
    InMemoryRowReader reader(d.matrix); // blocks are copies: X is written back as read
    auto r = about_input(a, [&] { return apply_gathered(algorithm, reader, symbols, o, fmt::format("{} {}", a.input, d.matrix_source),
                                                  counts_hint(d, a.layer, a.raw), messages); });
    warn_missing(r.panel, a.input, messages);
    H5adAdditions add;
    const auto n = r.latent.rows(), k = r.latent.cols();
    add.obsm.set("X_scx", Element{NdArray::from(std::vector<float>(r.latent.data(), r.latent.data() + r.latent.size()), {n, k})});
    for (auto& [name, column] : r.obs) add.obs_columns.emplace_back(name, std::move(column));
    add.uns.set("scx", Element{std::move(r.uns)});
    write_dataset_with_additions(a.input, std::move(d), a.out, add);
    return {n, r.ood};
}

} // namespace

std::string describe_ood(const ApplyOodSummary& o) {
    if (!o.available)
        return fmt::format("out of distribution: unavailable (the algorithm file predates the training bounds; refit it); "
                           "mean reconstruction error {:.3g}",
                           o.mean_reconstruction_error);
    const auto pct = [&](std::int64_t k) { return o.cells > 0 ? 100.0 * static_cast<double>(k) / static_cast<double>(o.cells) : 0.0; };
    return fmt::format("out of distribution: {:.1f}% of {} cells (reconstruction error > {:.3g}: {:.1f}%, detected panel "
                       "genes < {:.3g}: {:.1f}%; mean error {:.3g}, training {:.3g})",
                       100.0 * o.fraction(), o.cells, o.reconstruction_error_p99, pct(o.reconstruction_out),
                       o.detected_fraction_p1, pct(o.detected_out), o.mean_reconstruction_error,
                       o.training_mean_reconstruction_error);
}

ApplyResult apply_algorithm_to(const Algorithm& algorithm, RowBlockReader& counts, const std::vector<std::string>& symbols,
                               const ApplyOptions& options) {
    return apply_gathered(algorithm, counts, symbols, options, options.matrix_source,
                          "scextract needs raw counts or log-normalised values", {});
}

ApplyFileResult apply_file(const ApplyFileOptions& a, const MessageSink& messages) {
    refuse_overwriting_inputs(a.out, {a.input, a.algorithm});
    const auto t0 = std::chrono::steady_clock::now();
    const auto algorithm = read_algorithm_file(a.algorithm);
    // anndata >= 0.8 files stream; other inputs have no row-block reader (or, for
    // anndata <= 0.7, no layout a copy can be amended in), so they load whole
    ApplyFileResult r;
    r.streamed = detect_input_format(a.input) == InputFormat::h5ad && read_h5ad_layout(a.input) == H5adLayout::modern;
    const auto placed = r.streamed ? apply_streamed(a, algorithm, messages) : apply_in_memory(a, algorithm, messages);
    r.cells = placed.cells;
    r.ood = placed.ood;
    if (r.ood.exceeds_warning())
        messages.warning(fmt::format("{:.1f}% of the cells of {} are out of distribution for {} (more than the {:.0f}% "
                                     "allowed; cells like the training cells give about 1-2%): their labels are "
                                     "extrapolations; see obs['scx_ood'] and uns['scx']['ood']",
                                     100.0 * r.ood.fraction(), a.input, a.algorithm, 100.0 * r.ood.warn_fraction));
    else if (!r.ood.available)
        messages.note(fmt::format("{} predates out-of-distribution bounds: no obs['scx_ood']; refit it to get them", a.algorithm));
    r.latent_dim = algorithm.latent_dim();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

} // namespace scx
