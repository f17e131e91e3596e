/// @file perturb.cpp
/// @brief perturb_file(): the `perturb` verb for every front-end.

#include "scextract/perturb.hpp"

#include "scextract/api/input_cells.hpp"
#include "scextract/apply.hpp"
#include "scextract/core/error.hpp"
#include "scextract/extract/panel_features.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/gene_programs.hpp"
#include "scextract/io/gene_sets_gmt.hpp"
#include "scextract/io/h5ad_annotation_writer.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/version.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

std::string perturbation_summary_tsv(const PerturbationResult& r) {
    std::string s = "output\tshift\tnull_mean\tnull_sd\tz\tp\tq\tdirection\n";
    for (const auto& x : r.summary)
        s += fmt::format("{}\t{:.6g}\t{:.6g}\t{:.6g}\t{:.4g}\t{:.6g}\t{:.6g}\t{}\n", x.output, x.shift, x.null_mean, x.null_sd, x.z, x.p, x.q,
                         x.direction.empty() ? "none" : x.direction);
    return s;
}

namespace {

Element strings(std::vector<std::string> v) {
    const auto n = static_cast<std::int64_t>(v.size());
    return Element{StringArray{{n}, std::move(v)}};
}

Element doubles(const std::vector<double>& v) {
    return Element{NdArray::from(v, {static_cast<std::int64_t>(v.size())})};
}

Mapping uns_of(const PerturbFileOptions& a, const PerturbationResult& r) {
    Mapping m;
    m.set("algorithm", Element{StringArray{{}, {a.algorithm}}});
    m.set("mode", Element{StringArray{{}, {perturbation_mode_name(a.perturbation.mode)}}});
    m.set("genes", strings(r.genes));
    m.set("factor", Element{NdArray::scalar<std::int64_t>(a.perturbation.factor)});
    m.set("null_sets", Element{NdArray::scalar<std::int64_t>(r.null_sets)});
    m.set("branch_classes", strings(r.branch_classes));
    m.set("stage_classes", strings(r.stage_classes));
    std::vector<std::string> output, direction;
    std::vector<double> shift, null_mean, null_sd, z, p, q;
    for (const auto& s : r.summary) {
        output.push_back(s.output);
        direction.push_back(s.direction.empty() ? "none" : s.direction);
        shift.push_back(s.shift);
        null_mean.push_back(s.null_mean);
        null_sd.push_back(s.null_sd);
        z.push_back(s.z);
        p.push_back(s.p);
        q.push_back(s.q);
    }
    Mapping summary;
    summary.set("output", strings(output));
    summary.set("shift", doubles(shift));
    summary.set("null_mean", doubles(null_mean));
    summary.set("null_sd", doubles(null_sd));
    summary.set("z", doubles(z));
    summary.set("p", doubles(p));
    summary.set("q", doubles(q));
    summary.set("direction", strings(direction));
    m.set("summary", Element{std::move(summary)});
    m.set("scextract_version", Element{StringArray{{}, {version()}}});
    return m;
}

/// The genes of program @p name in @p path (GMT by extension, else read_gene_programs()).
std::vector<std::string> program_genes(const std::string& path, const std::string& name) {
    if (path.empty()) throw UsageError("perturb: a program name needs its programs file");
    std::vector<std::string> names;
    const auto gmt = path.ends_with(".gmt") || path.ends_with(".gmt.gz");
    if (gmt) {
        for (auto& s : read_gmt(path)) {
            if (s.name == name) return s.genes;
            names.push_back(s.name);
        }
    } else {
        for (auto& p : read_gene_programs(path)) {
            if (p.name == name) return p.genes;
            names.push_back(p.name);
        }
    }
    throw Error(fmt::format("{}: no program named '{}' (it has {}{})", path, name,
                            fmt::join(names.begin(), names.begin() + std::min<std::ptrdiff_t>(8, std::ssize(names)), ", "),
                            names.size() > 8 ? fmt::format(", ... {} in all", names.size()) : ""));
}

} // namespace

PerturbFileResult perturb_file(const PerturbFileOptions& a, const MessageSink& messages) {
    const auto summary_path = !a.summary.empty() ? a.summary
                              : a.out.size() > 5 && a.out.ends_with(".h5ad")
                                  ? a.out.substr(0, a.out.size() - 5) + ".perturb.tsv"
                                  : a.out + ".perturb.tsv";
    // no output replaces an input (the algorithm, the cells, the programs file) or the other output
    refuse_overwriting_inputs({a.out, summary_path}, {a.algorithm, a.input, a.programs_file});
    const auto t0 = std::chrono::steady_clock::now();
    auto perturbation = a.perturbation;
    if (!a.program.empty()) perturbation.genes = program_genes(a.programs_file, a.program);
    const Algorithm algorithm = read_algorithm(a.algorithm);
    auto d = read_dataset(a.input, {.layer = a.layer, .use_raw = a.raw});
    take_input_values(d, a.input_kind, a.input, a.layer, a.raw, a.perturbation.threads, messages);
    const auto symbols = dataset_gene_symbols(d, a.input, a.gene_column, messages);
    const auto panel = match_algorithm_panel(algorithm, symbols, {});
    if (!panel.missing.empty())
        messages.warning(fmt::format("{} of the algorithm's {} panel genes are absent from {}; they are zero-filled",
                                     panel.missing.size(), panel.column.size(), a.input));
    const auto x = panel_expression(d.matrix, panel, {.target_sum = algorithm.target_sum, .threads = a.perturbation.threads}).x;
    PerturbFileResult result;
    try {
        result.perturbation = perturb_cells(algorithm, x, perturbation);
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", a.algorithm, e.what()));
    }
    const auto& r = result.perturbation;
    if (!r.missing_genes.empty())
        messages.warning(fmt::format("{} of the {} genes are not in the algorithm's {}-gene panel and were left out: {}",
                                     r.missing_genes.size(), a.perturbation.genes.size(), algorithm.features.n_genes(),
                                     fmt::join(r.missing_genes, ", ")));

    H5adAnnotationWriter w(a.input, a.out);
    const bool depth = r.depth.size() > 0, branch = r.branch_shift.size() > 0, stage = r.stage_shift.size() > 0;
    if (depth) {
        w.add_obs_numeric("scx_perturb_depth");
        w.add_obs_numeric("scx_perturb_depth_shift");
    }
    if (branch) w.add_obsm("scx_perturb_branch_shift", r.branch_shift.cols());
    if (stage) w.add_obsm("scx_perturb_stage_shift", r.stage_shift.cols());
    if (depth) {
        w.write_obs("scx_perturb_depth", 0, std::span<const double>(r.depth.data(), static_cast<std::size_t>(r.depth.size())));
        w.write_obs("scx_perturb_depth_shift", 0,
                    std::span<const double>(r.depth_shift.data(), static_cast<std::size_t>(r.depth_shift.size())));
    }
    if (branch) w.write_obsm("scx_perturb_branch_shift", 0, r.branch_shift);
    if (stage) w.write_obsm("scx_perturb_stage_shift", 0, r.stage_shift);
    w.set_uns("scx_perturb", Element{uns_of(a, r)});
    w.commit();
    write_text_atomically(summary_path, perturbation_summary_tsv(r));
    result.summary = summary_path;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace scx
