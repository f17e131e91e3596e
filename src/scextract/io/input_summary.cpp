#include "scextract/io/input_summary.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/hdf5.hpp"

#include <map>
#include <sstream>

#include <fmt/format.h>

namespace scx {

namespace {

using json = nlohmann::ordered_json;

json describe_column(const std::string& name, const Column& c, const InputSummaryOptions& o) {
    json j{{"name", name}, {"kind", column_kind(c)}};
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, NdArray>) {
                j["dtype"] = dtype_name(v.dtype);
            } else if constexpr (std::is_same_v<T, StringArray>) {
                j["dtype"] = "str";
            } else if constexpr (std::is_same_v<T, NullableArray>) {
                j["dtype"] = v.kind == NullableArray::Kind::string ? "str" : dtype_name(v.values.dtype);
                std::int64_t missing = 0;
                for (auto m : v.mask) missing += m;
                j["n_missing"] = missing;
            } else if constexpr (std::is_same_v<T, Categorical>) {
                const auto n = v.n_categories();
                j["n_categories"] = n;
                j["ordered"] = v.ordered;
                j["dtype"] = std::holds_alternative<StringArray>(v.categories)
                                 ? std::string("str")
                                 : std::string(dtype_name(std::get<NdArray>(v.categories).dtype));
                std::vector<std::int64_t> counts(static_cast<std::size_t>(n), 0);
                std::int64_t missing = 0;
                for (std::int64_t i = 0; i < v.codes.size(); ++i) {
                    const auto code = v.codes.at_int(i);
                    if (code >= 0 && code < n) ++counts[code];
                    else ++missing;
                }
                j["n_missing"] = missing;
                if (n <= o.max_categories_listed) {
                    json cats = json::array(), cnt = json::object();
                    for (std::int64_t k = 0; k < n; ++k) {
                        cats.push_back(v.category_label(k));
                        cnt[v.category_label(k)] = counts[k];
                    }
                    j["categories"] = cats;
                    j["counts"] = cnt;
                }
            }
        },
        c);
    return j;
}

json describe_frame(const DataFrame& df, const InputSummaryOptions& o) {
    json cols = json::array();
    for (const auto& [name, c] : df.columns) cols.push_back(describe_column(name, c, o));
    return {{"index_name", df.index_name}, {"n_rows", df.n_rows()}, {"columns", cols}};
}

json describe_element(const Element& e) {
    return std::visit(
        [](const auto& v) -> json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, NdArray>)
                return {{"encoding", v.shape.empty() ? "numeric-scalar" : "array"}, {"dtype", dtype_name(v.dtype)}, {"shape", v.shape}};
            else if constexpr (std::is_same_v<T, StringArray>)
                return {{"encoding", v.shape.empty() ? "string" : "string-array"}, {"dtype", "str"}, {"shape", v.shape}};
            else if constexpr (std::is_same_v<T, SparseArray>)
                return {{"encoding", v.format == SparseArray::Format::csr ? "csr_matrix" : "csc_matrix"},
                        {"dtype", dtype_name(v.data.dtype)},
                        {"shape", {v.n_rows, v.n_cols}},
                        {"nnz", v.data.size()}};
            else if constexpr (std::is_same_v<T, DataFrame>)
                return {{"encoding", "dataframe"}, {"shape", {v.n_rows(), static_cast<std::int64_t>(v.columns.size())}}};
            else if constexpr (std::is_same_v<T, Mapping>) {
                json keys = json::array();
                for (const auto& [k, _] : v.items) keys.push_back(k);
                return {{"encoding", "dict"}, {"keys", keys}};
            } else if constexpr (std::is_same_v<T, RecordArray>) {
                json fields = json::array();
                for (const auto& [k, _] : v.fields) fields.push_back(k);
                return {{"encoding", "rec-array"}, {"shape", {v.n}}, {"fields", fields}};
            } else if constexpr (std::is_same_v<T, Categorical>)
                return {{"encoding", "categorical"}, {"shape", {v.codes.size()}}};
            else
                return {{"encoding", "nullable"}, {"shape", {v.size()}}};
        },
        e.value);
}

json describe_mapping(const Mapping& m) {
    json j = json::object();
    for (const auto& [k, e] : m.items) j[k] = describe_element(e);
    return j;
}

json describe_matrix(const H5adMatrixInfo& info) {
    json j{{"encoding", info.encoding}, {"dtype", info.dtype}, {"shape", {info.n_rows, info.n_cols}}};
    if (info.nnz >= 0) j["nnz"] = info.nnz;
    return j;
}

json summarize_h5ad(const std::string& path, const InputSummaryOptions& o) {
    std::vector<std::string> warnings;
    const auto ad = read_h5ad(path, {.read_X = false, .read_layers = false, .read_raw_X = false, .read_obsp = false}, &warnings);
    json j;
    j["path"] = path;
    j["format"] = "h5ad";
    j["layout"] = ad.layout == H5adLayout::modern      ? "anndata>=0.8"
                  : ad.layout == H5adLayout::legacy_07 ? "anndata-0.7"
                                                       : "anndata<=0.6";
    j["n_obs"] = ad.n_obs;
    j["n_vars"] = ad.n_vars;
    h5::Handle f = h5::open_file_read(path);
    j["X"] = h5::link_exists(f, "X") ? describe_matrix(inspect_h5ad_matrix(path, {})) : json(nullptr);
    j["obs"] = describe_frame(ad.obs, o);
    j["var"] = describe_frame(ad.var, o);
    j["obsm"] = describe_mapping(ad.obsm);
    j["varm"] = describe_mapping(ad.varm);
    json layers = json::object(), obsp = json::object(), varp = json::object();
    if (h5::is_group(f, "layers"))
        for (const auto& k : h5::children(h5::open_group(f, "layers")))
            layers[k] = describe_matrix(inspect_h5ad_matrix(path, {.layer = k}));
    for (auto [name, out] : {std::pair{"obsp", &obsp}, std::pair{"varp", &varp}})
        if (h5::is_group(f, name)) {
            h5::Handle g = h5::open_group(f, name);
            for (const auto& k : h5::children(g)) {
                json e{{"encoding", h5::read_string_attr(h5::is_group(g, k) ? h5::open_group(g, k) : h5::open_dataset(g, k), "encoding-type").value_or("")}};
                (*out)[k] = e;
            }
        }
    j["layers"] = layers;
    j["obsp"] = obsp;
    j["varp"] = varp;
    if (ad.raw) {
        json raw{{"n_vars", ad.raw->var.n_rows()}, {"var", describe_frame(ad.raw->var, o)}};
        raw["X"] = (h5::link_exists(f, "raw/X") || h5::link_exists(f, "raw.X")) ? describe_matrix(inspect_h5ad_matrix(path, {.layer = "", .use_raw = true})) : json(nullptr);
        j["raw"] = raw;
    } else {
        j["raw"] = nullptr;
    }
    j["uns"] = describe_mapping(ad.uns);
    j["warnings"] = warnings;
    return j;
}

} // namespace

json summarize_input(const std::string& path, const InputSummaryOptions& options) {
    if (detect_input_format(path) == InputFormat::h5ad) return summarize_h5ad(path, options);
    const auto d = read_dataset(path);
    json j;
    j["path"] = path;
    j["format"] = d.format;
    j["layout"] = d.format;
    j["n_obs"] = d.matrix.n_rows;
    j["n_vars"] = d.matrix.n_cols;
    j["X"] = {{"encoding", "csr_matrix"}, {"dtype", "float32"}, {"shape", {d.matrix.n_rows, d.matrix.n_cols}}, {"nnz", d.matrix.nnz()}};
    j["obs"] = describe_frame(d.obs, options);
    j["var"] = describe_frame(d.var, options);
    for (const char* k : {"obsm", "varm", "obsp", "varp", "layers", "uns"}) j[k] = json::object();
    j["raw"] = nullptr;
    j["warnings"] = json::array();
    return j;
}

std::string format_input_summary(const json& s) {
    std::ostringstream out;
    out << fmt::format("{} ({}, {})\n", s["path"].get<std::string>(), s["format"].get<std::string>(), s["layout"].get<std::string>());
    out << fmt::format("  {} cells x {} genes\n", s["n_obs"].get<std::int64_t>(), s["n_vars"].get<std::int64_t>());
    auto matrix_line = [](const json& m) {
        if (m.is_null()) return std::string("absent");
        std::string line = fmt::format("{} {}", m["encoding"].get<std::string>(), m["dtype"].get<std::string>());
        if (m.contains("nnz")) line += fmt::format(", {} stored values", m["nnz"].get<std::int64_t>());
        return line;
    };
    out << "  X: " << matrix_line(s["X"]) << "\n";
    for (const char* frame : {"obs", "var"}) {
        out << fmt::format("  {} (index '{}'):\n", frame, s[frame]["index_name"].get<std::string>());
        for (const auto& c : s[frame]["columns"]) {
            out << fmt::format("    {:<28} {}", c["name"].get<std::string>(), c["kind"].get<std::string>());
            if (c.contains("n_categories")) {
                out << fmt::format(", {} categories", c["n_categories"].get<std::int64_t>());
                if (c.contains("counts")) {
                    std::vector<std::string> parts;
                    for (const auto& [k, v] : c["counts"].items()) {
                        if (parts.size() == 8) {
                            parts.push_back("...");
                            break;
                        }
                        parts.push_back(fmt::format("{} ({})", k, v.get<std::int64_t>()));
                    }
                    out << ": " << fmt::format("{}", fmt::join(parts, ", "));
                }
            } else if (c.contains("dtype")) {
                out << " " << c["dtype"].get<std::string>();
            }
            out << "\n";
        }
    }
    for (const char* m : {"obsm", "varm", "obsp", "varp", "layers", "uns"}) {
        std::vector<std::string> keys;
        for (const auto& [k, _] : s[m].items()) keys.push_back(k);
        out << fmt::format("  {}: {}\n", m, keys.empty() ? std::string("-") : fmt::format("{}", fmt::join(keys, ", ")));
    }
    out << "  raw: " << (s["raw"].is_null() ? std::string("absent") : matrix_line(s["raw"]["X"])) << "\n";
    for (const auto& w : s["warnings"]) out << "  note: " << w.get<std::string>() << "\n";
    return out.str();
}

} // namespace scx
