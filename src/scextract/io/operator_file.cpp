#include "scextract/io/operator_file.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/json_parse.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

namespace scx {

namespace {

using json = nlohmann::ordered_json;

template <class T>
void read_key(const json& j, const char* key, T& out, const std::string& what) {
    if (!j.contains(key) || j[key].is_null()) return;
    try {
        out = j[key].get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("{}: provenance \"{}\" has the wrong type ({})", what, key, json_excerpt(j[key])));
    }
}

const json& sub_object(const json& j, const char* key, const std::string& what) {
    static const json empty = json::object();
    if (!j.contains(key)) return empty;
    if (!j[key].is_object()) throw Error(fmt::format("{}: provenance \"{}\" is not an object", what, key));
    return j[key];
}

std::int64_t metadata_int(const json& m, const char* key, const std::string& path) {
    if (!m.contains(key) || !m[key].is_number_integer() || m[key].get<std::int64_t>() < 0)
        throw Error(fmt::format("{}: operator metadata has no valid \"{}\"", path, key));
    return m[key].get<std::int64_t>();
}

} // namespace

json operator_provenance_json(const OperatorProvenance& p) {
    json j;
    j["mode"] = p.mode;
    if (p.mode == "atlas") {
        j["cells_used"] = p.cells_used;
        j["cells_available"] = p.cells_available;
        j["cells_total"] = p.cells_total;
        j["seed"] = p.seed;
        j["tokenizer"] = p.tokenizer;
        j["max_tokens"] = p.max_tokens;
        j["cell_indices"] = p.cell_indices;
    }
    if (p.target_sum >= 0) j["target_sum"] = p.target_sum;
    j["checkpoint"] = {{"path", p.checkpoint_path}, {"sha256", p.checkpoint_sha256}};
    j["reference"] = {{"path", p.reference_path}, {"matrix", p.reference_matrix}};
    j["panel"] = {{"hvg_flavor", p.hvg_flavor},
                  {"vocab_filter", p.vocab_filter},
                  {"panel_order", p.panel_order},
                  {"requested", p.panel_requested}};
    j["bias_handling"] = p.bias_handling;
    j["exactness"] = p.exactness;
    j["software"] = p.software;
    return j;
}

OperatorProvenance operator_provenance_from_json(const json& j, const std::string& what) {
    if (!j.is_object()) throw Error(fmt::format("{}: provenance is not a JSON object", what));
    OperatorProvenance p;
    read_key(j, "mode", p.mode, what);
    read_key(j, "cells_used", p.cells_used, what);
    read_key(j, "cells_available", p.cells_available, what);
    read_key(j, "cells_total", p.cells_total, what);
    read_key(j, "seed", p.seed, what);
    read_key(j, "tokenizer", p.tokenizer, what);
    read_key(j, "max_tokens", p.max_tokens, what);
    read_key(j, "cell_indices", p.cell_indices, what);
    read_key(j, "target_sum", p.target_sum, what);
    const json& ck = sub_object(j, "checkpoint", what);
    read_key(ck, "path", p.checkpoint_path, what);
    read_key(ck, "sha256", p.checkpoint_sha256, what);
    const json& ref = sub_object(j, "reference", what);
    read_key(ref, "path", p.reference_path, what);
    read_key(ref, "matrix", p.reference_matrix, what);
    const json& panel = sub_object(j, "panel", what);
    read_key(panel, "hvg_flavor", p.hvg_flavor, what);
    read_key(panel, "vocab_filter", p.vocab_filter, what);
    read_key(panel, "panel_order", p.panel_order, what);
    read_key(panel, "requested", p.panel_requested, what);
    read_key(j, "bias_handling", p.bias_handling, what);
    read_key(j, "exactness", p.exactness, what);
    read_key(j, "software", p.software, what);
    return p;
}

namespace {

/// What the atlas and circuits rely on beyond sizes (the reader checks the same, so nothing
/// is written that would be refused): finite operators, unique panel genes, co-occurrence
/// counts that are counts.
void check_operator_values(const OperatorSet& set, const std::string& what) {
    std::unordered_set<std::string> seen;
    for (const auto& g : set.genes)
        if (!seen.insert(g).second) throw Error(fmt::format("{}: panel gene '{}' appears twice", what, g));
    for (std::size_t k = 0; k < set.ops.size(); ++k) {
        const auto& m = set.ops[k];
        for (Eigen::Index i = 0; i < m.size(); ++i)
            if (!std::isfinite(m.data()[i]))
                throw Error(fmt::format("{}: operator of layer {} head {} holds a non-finite value ({}) at entry {}", what,
                                        static_cast<std::int64_t>(k) / std::max<std::int64_t>(set.n_heads, 1),
                                        static_cast<std::int64_t>(k) % std::max<std::int64_t>(set.n_heads, 1), m.data()[i], i));
    }
    for (std::size_t i = 0; i < set.cooccurrence.size(); ++i)
        if (set.cooccurrence[i] < 0)
            throw Error(fmt::format("{}: co-occurrence count {} at entry {} is negative", what, set.cooccurrence[i], i));
}

} // namespace

void write_operator_file(const OperatorSet& set, const std::string& path) {
    set.validate(path);
    check_operator_values(set, path);
    const std::int64_t g = set.n_genes();
    json meta;
    meta["format"] = kOperatorFormat;
    meta["format_version"] = kOperatorFormatVersion;
    meta["n_layers"] = set.n_layers;
    meta["n_heads"] = set.n_heads;
    meta["n_genes"] = g;
    meta["orientation"] = "operators[layer, head, i, j] = A[i, j]: from query gene i (row) to key gene j (column), "
                          "genes in panel order";
    meta["genes"] = set.genes;
    meta["provenance"] = operator_provenance_json(set.provenance);

    std::vector<ContainerArrayView> arrays;
    arrays.push_back(ContainerArrayView::i64("vocab_ids", {g}, set.vocab_ids));
    ContainerArrayView ops{"operators", ContainerDType::float32, {set.n_layers, set.n_heads, g, g}, {}};
    for (const auto& m : set.ops) ops.add_piece(std::span<const float>(m.data(), static_cast<std::size_t>(m.size())));
    arrays.push_back(std::move(ops));
    if (!set.cooccurrence.empty()) arrays.push_back(ContainerArrayView::i32("cooccurrence", {g, g}, set.cooccurrence));
    write_scx_container(path, kOperatorKind, meta, arrays);
}

OperatorFileView::OperatorFileView(const std::string& path, bool verify_operators)
    : container_(path, ScxOpenOptions{.verify_checksums = false, .expected_kind = kOperatorKind}) {
    const json& m = container_.metadata();
    if (!m.contains("format") || m["format"] != kOperatorFormat)
        throw Error(fmt::format("{}: container metadata \"format\" is not \"{}\"", path, kOperatorFormat));
    if (!m.contains("format_version") || !m["format_version"].is_number_integer() ||
        m["format_version"].get<std::int64_t>() != kOperatorFormatVersion)
        throw Error(fmt::format("{}: unsupported operator format_version {} (this scextract reads {})", path,
                                m.contains("format_version") ? json_excerpt_text(m["format_version"]) : "(absent)",
                                kOperatorFormatVersion));
    n_layers_ = metadata_int(m, "n_layers", path);
    n_heads_ = metadata_int(m, "n_heads", path);
    n_genes_ = metadata_int(m, "n_genes", path);

    container_.verify_array("vocab_ids");
    const auto ids = container_.array_i64("vocab_ids");
    if (container_.info("vocab_ids").shape != std::vector<std::int64_t>{n_genes_})
        throw Error(fmt::format("{}: array 'vocab_ids' does not have shape [{}]", path, n_genes_));
    vocab_ids_.assign(ids.begin(), ids.end());
    if (m.contains("genes") && !m["genes"].is_null()) {
        try {
            genes_ = m["genes"].get<std::vector<std::string>>();
        } catch (const nlohmann::json::exception&) {
            throw Error(fmt::format("{}: metadata \"genes\" is not a list of strings", path));
        }
        if (!genes_.empty() && static_cast<std::int64_t>(genes_.size()) != n_genes_)
            throw Error(fmt::format("{}: {} gene names for n_genes {}", path, genes_.size(), n_genes_));
    }
    if (m.contains("provenance")) provenance_ = operator_provenance_from_json(m["provenance"], path);

    const auto& info = container_.info("operators");
    if (info.shape != std::vector<std::int64_t>{n_layers_, n_heads_, n_genes_, n_genes_})
        throw Error(fmt::format("{}: array 'operators' does not have shape [{}, {}, {}, {}]", path, n_layers_, n_heads_,
                                n_genes_, n_genes_));
    operators_ = container_.array_f32("operators");
    if (container_.has_array("cooccurrence")) {
        container_.verify_array("cooccurrence");
        if (container_.info("cooccurrence").shape != std::vector<std::int64_t>{n_genes_, n_genes_})
            throw Error(fmt::format("{}: array 'cooccurrence' does not have shape [{}, {}]", path, n_genes_, n_genes_));
        (void)container_.array_i32("cooccurrence"); // checks the dtype
    }
    if (verify_operators) verify();
}

Eigen::Map<const RowMatrixF> OperatorFileView::op(std::int64_t layer, std::int64_t head) const {
    if (layer < 0 || layer >= n_layers_ || head < 0 || head >= n_heads_)
        throw Error(fmt::format("{}: head {}:{} is outside {} layers x {} heads", path(), layer, head, n_layers_, n_heads_));
    const std::int64_t gg = n_genes_ * n_genes_;
    return {operators_.data() + (layer * n_heads_ + head) * gg, n_genes_, n_genes_};
}

std::span<const std::int32_t> OperatorFileView::cooccurrence() const {
    if (!container_.has_array("cooccurrence")) return {};
    return container_.array_i32("cooccurrence");
}

void OperatorFileView::verify() const { container_.verify_array("operators"); }

OperatorSet OperatorFileView::load() const {
    OperatorSet s;
    s.genes = genes_;
    s.vocab_ids = vocab_ids_;
    s.n_layers = n_layers_;
    s.n_heads = n_heads_;
    s.provenance = provenance_;
    s.ops.reserve(static_cast<std::size_t>(n_layers_ * n_heads_));
    for (std::int64_t l = 0; l < n_layers_; ++l)
        for (std::int64_t h = 0; h < n_heads_; ++h) s.ops.emplace_back(op(l, h));
    const auto c = cooccurrence();
    s.cooccurrence.assign(c.begin(), c.end());
    check_operator_values(s, path());
    return s;
}

OperatorSet read_operator_file(const std::string& path) { return OperatorFileView(path, true).load(); }

} // namespace scx
