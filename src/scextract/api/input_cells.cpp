#include "scextract/api/input_cells.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/preprocess/gene_alignment.hpp"
#include "scextract/stats/cell_folds.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

std::string counts_hint(const Dataset& d, const std::string& layer, bool raw) {
    if (d.format != "h5ad") return "scextract needs raw counts";
    std::vector<std::string> options;
    if (!layer.empty() || raw) options.push_back(fmt::format("X (leave out {})", raw ? "--raw" : "--layer"));
    for (const auto& l : d.layer_names)
        if (l != layer) options.push_back("--layer " + l);
    if (d.has_raw && !raw) options.push_back("--raw");
    if (options.empty()) return "the file has no other layer or raw.X to take counts from";
    return fmt::format("other matrices in this file: {}; choose the one that holds raw counts", fmt::join(options, ", "));
}

InputValues resolve_dataset_values(const Dataset& d, const InputValuesOptions& options, const std::string& path,
                                   const std::string& layer, bool raw, int threads, const MessageSink& messages) {
    const auto what = fmt::format("{} {}", path, d.matrix_source);
    auto v = resolve_input_values(inspect_values(d.matrix, {.threads = threads}), options, what, counts_hint(d, layer, raw));
    messages.note(v.describe(what));
    return v;
}

InputValues take_input_values(Dataset& d, const InputValuesOptions& options, const std::string& path,
                              const std::string& layer, bool raw, int threads, const MessageSink& messages) {
    auto v = resolve_dataset_values(d, options, path, layer, raw, threads, messages);
    to_method_values_in_place(d.matrix, v, threads);
    return v;
}

const CsrMatrix& method_matrix(const Dataset& d, const InputValues& input, CsrMatrix& storage, int threads) {
    if (!input.normalized()) return d.matrix;
    storage = d.matrix;
    to_method_values_in_place(storage, input, threads);
    return storage;
}

std::vector<std::string> dataset_gene_symbols(const Dataset& d, const std::string& input, const std::string& force_column,
                                              const MessageSink& messages) {
    std::vector<GeneColumn> columns;
    for (const auto& [name, col] : d.var.columns)
        if (std::holds_alternative<StringArray>(col) || std::holds_alternative<Categorical>(col))
            columns.push_back({name, column_as_strings(col, input + " var['" + name + "']")});
    GeneSymbolOptions o;
    o.force_column = force_column;
    auto choice = choose_gene_symbols(d.var_names, columns, o);
    messages.note(choice.explanation);
    return std::move(choice.symbols);
}

std::vector<std::string> obs_strings(const Dataset& d, const std::string& key, const std::string& input, const char* option) {
    const Column* c = d.obs.find(key);
    if (c == nullptr) {
        std::vector<std::string> names;
        for (const auto& [n, _] : d.obs.columns) names.push_back(n);
        throw UsageError(fmt::format("{}: obs has no column '{}' ({}); obs columns: {}", input, key, option,
                                     fmt::join(names, ", ")));
    }
    return column_as_strings(*c, fmt::format("{} obs['{}']", input, key));
}

std::unique_ptr<ReferenceCells> read_reference_cells(const ReferenceCellsOptions& a, const MessageSink& messages) {
    auto in = std::make_unique<ReferenceCells>();
    in->dataset = read_dataset(a.path, {.layer = a.layer, .use_raw = a.raw});
    const auto& d = in->dataset;
    in->input = take_input_values(in->dataset, a.input, a.path, a.layer, a.raw, a.threads, messages);
    in->data.counts = &in->dataset.matrix;
    in->data.symbols = dataset_gene_symbols(d, a.path, a.gene_column, messages);
    in->data.labels = obs_strings(d, a.label_key, a.path, "--label-key");
    auto donors = cell_donors(d, a.path, a.donor_key, "--donor-key", in->data.labels, a.cell_folds, CellFoldOptions{}.seed,
                              messages);
    in->data.donors = std::move(donors.donors);
    in->donor_note = std::move(donors.note);
    if (!a.tissue_key.empty()) in->data.tissues = obs_strings(d, a.tissue_key, a.path, "--tissue-key");
    return in;
}

CellDonors cell_donors(const Dataset& d, const std::string& path, const std::string& donor_key, const char* option,
                       const std::vector<std::string>& labels, std::int64_t folds, std::uint64_t seed,
                       const MessageSink& messages) {
    CellDonors out;
    out.donors = donor_key == "none" ? std::vector<std::string>(static_cast<std::size_t>(d.matrix.n_rows), "all")
                                     : obs_strings(d, donor_key, path, option);
    const std::set<std::string> distinct(out.donors.begin(), out.donors.end());
    if (distinct.size() > 1) return out;
    const auto why = donor_key == "none" ? fmt::format("no donor column ({} none)", option)
                     : distinct.empty()  ? std::string("no cells")
                                         : fmt::format("one donor ('{}') in obs['{}']", *distinct.begin(), donor_key);
    if (folds < 0) {
        const auto n_labels = std::max<std::size_t>(1, std::set<std::string>(labels.begin(), labels.end()).size());
        folds = std::clamp<std::int64_t>(static_cast<std::int64_t>(labels.size() / (10 * n_labels)), 2, 10);
    }
    if (folds >= 2) {
        const CellFoldOptions fo{.n_folds = folds, .seed = seed};
        out.donors = cell_fold_donors(labels, fo);
        out.note = cell_fold_note(why, fo);
    } else {
        out.note = why + ": every cell has the same donor";
    }
    messages.warning(fmt::format("{}: {}", path, out.note));
    return out;
}

/// The labels of obs[key] (missing entries dropped) with their cell counts, in first-seen order.
std::vector<std::pair<std::string, std::int64_t>> obs_label_counts(const std::string& path, const std::string& key) {
    DataFrame obs;
    if (detect_input_format(path) == InputFormat::h5ad)
        obs = read_h5ad(path, {.read_X = false, .read_layers = false, .read_raw_X = false, .read_obsp = false}).obs;
    else
        obs = read_dataset(path).obs;
    const auto* col = obs.find(key);
    if (col == nullptr) {
        std::vector<std::string> names;
        for (const auto& [name, c] : obs.columns) names.push_back(name);
        throw Error(fmt::format("{}: obs has no column '{}' (columns: {})", path, key,
                                names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "))));
    }
    const auto values = column_as_strings(*col, fmt::format("{}: obs['{}']", path, key));
    std::vector<std::pair<std::string, std::int64_t>> counts;
    std::map<std::string, std::size_t> where;
    for (const auto& v : values) {
        if (v.empty()) continue;
        const auto [it, fresh] = where.emplace(v, counts.size());
        if (fresh) counts.emplace_back(v, 0);
        ++counts[it->second].second;
    }
    return counts;
}

} // namespace scx
