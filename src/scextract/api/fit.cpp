/// @file fit.cpp
/// @brief fit_file(): the `fit` verb, provenance included, for every front-end.

#include "scextract/fit.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/algorithm_file.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/output_paths.hpp"
#include "scextract/io/operator_file.hpp"
#include "scextract/io/label_map.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/version.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

namespace scx {

FitFileResult fit_file(const FitFileOptions& a, const MessageSink& messages) {
    refuse_overwriting_inputs(a.out, {a.operator_file, a.reference.path, a.label_map, a.ruler == "default" ? "" : a.ruler});
    const auto t0 = std::chrono::steady_clock::now();
    const Ruler ruler = load_ruler_with_label_map(a.ruler, a.label_map);
    const std::string ruler_json = ruler_to_json(ruler).dump();
    const auto ops = read_operator_file(a.operator_file);
    const auto features = build_feature_operator(ops, a.features);
    messages.note(fmt::format("features: {} ({} genes -> {} features, {:.2f} MB)", features.description, features.n_genes(),
                              features.n_features(), features.size_mb()));
    auto reference = a.reference;
    reference.threads = a.threads;
    const auto input = read_reference_cells(reference, messages);
    AlgorithmFitOptions o;
    o.adaptor = adaptor_options(parse_adaptor_variant(a.variant));
    o.adaptor.k = a.k;
    if (a.alpha >= 0) o.adaptor.loss.weights.reconstruction = a.alpha;
    if (a.epochs > 0) o.adaptor.epochs = a.epochs;
    o.adaptor.seed = a.seed;
    o.threads = a.threads;
    FitFileResult result;
    auto& r = result.fit;
    r = fit_algorithm(features, ruler, ruler_json, input->data, o);
    if (!r.missing_panel_genes.empty())
        messages.warning(fmt::format("{} of {} panel genes are absent from {} (zero-filled)", r.missing_panel_genes.size(),
                                     features.n_genes(), a.reference.path));
    if (!r.unmapped_labels.empty())
        messages.warning(fmt::format("{} labels map to no stage of ruler '{}' and were left out: {}", r.unmapped_labels.size(),
                                     ruler.name, fmt::join(r.unmapped_labels, "; ")));
    nlohmann::ordered_json prov;
    prov["software"] = std::string("scextract ") + version();
    prov["operator_file"] = a.operator_file;
    prov["operator"] = operator_provenance_json(ops.provenance);
    prov["features"] = features.description;
    prov["train"] = a.reference.path;
    prov["matrix"] = input->dataset.matrix_source;
    prov["label_key"] = a.reference.label_key;
    prov["donor_key"] = a.reference.donor_key;
    prov["tissue_key"] = a.reference.tissue_key;
    prov["variant"] = a.variant;
    prov["k"] = a.k;
    prov["alpha"] = o.adaptor.loss.weights.reconstruction;
    prov["seed"] = a.seed;
    prov["cells_on_ruler"] = r.n_on_ruler;
    {
        // what the algorithm saw, for inspect: cells, donors and cells per label
        std::map<std::string, std::int64_t> per_label;
        for (const auto& l : input->data.labels) ++per_label[l];
        const std::set<std::string> donors(input->data.donors.begin(), input->data.donors.end());
        auto& t = prov["training"];
        t["cells"] = input->data.counts ? input->data.counts->n_rows : 0;
        t["cells_on_ruler"] = r.n_on_ruler;
        t["donors"] = donors.size();
        t["labels"] = per_label;
    }
    prov["adaptor_rows"] = r.adaptor_rows;
    for (const auto& s : r.readouts) prov["readout_parameters"][s.task] = s.parameters;
    r.algorithm.provenance_json = prov.dump();
    write_algorithm_file(r.algorithm, a.out);
    result.features = features.description;
    result.operator_mb = features.size_mb();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace scx
