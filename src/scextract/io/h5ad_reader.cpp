#include "scextract/io/h5ad_reader.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/anndata_check.hpp"
#include "scextract/io/h5ad_body.hpp"
#include "scextract/io/hdf5.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace scx {

namespace {

using h5::Handle;

std::string encoding_of(hid_t obj) { return h5::read_string_attr(obj, "encoding-type").value_or(""); }

/// Reads elements of one file, collecting what it had to skip.
class ElementReader {
public:
    explicit ElementReader(std::vector<std::string>* warnings) : warnings_(warnings) {}

    /// Reads child @p name of @p parent; std::nullopt when the encoding is unsupported (warned).
    std::optional<Element> read(hid_t parent, const std::string& name) {
        if (h5::is_group(parent, name)) {
            Handle g = h5::open_group(parent, name);
            return read_group(g);
        }
        Handle d = h5::open_dataset(parent, name);
        return read_dataset(d);
    }

    Mapping read_mapping(hid_t group) {
        const GroupVisit visit(*this, group);
        Mapping m;
        for (const auto& child : h5::children(group)) {
            if (auto e = read(group, child)) m.items.emplace_back(child, std::move(*e));
        }
        return m;
    }

    DataFrame read_dataframe(hid_t parent, const std::string& name) {
        if (h5::is_dataset(parent, name)) {
            Handle d = h5::open_dataset(parent, name);
            return read_compound_dataframe(d);
        }
        Handle g = h5::open_group(parent, name);
        return read_dataframe_group(g);
    }

    std::variant<NdArray, SparseArray> read_matrix(hid_t parent, const std::string& name) {
        auto e = read(parent, name);
        const auto what = fmt::format("{}/{}", h5::where(parent), name);
        if (!e) throw Error(fmt::format("{}: unsupported matrix encoding", what));
        if (auto* s = std::get_if<SparseArray>(&e->value)) return std::move(*s);
        if (auto* a = std::get_if<NdArray>(&e->value); a && a->shape.size() == 2) return std::move(*a);
        throw Error(fmt::format("{}: expected a 2-D array or sparse matrix", what));
    }

    void warn(std::string w) {
        if (warnings_) warnings_->push_back(std::move(w));
    }

private:
    std::vector<std::string>* warnings_;
    /// Every group entered so far (object address -> the path it was first reached by), and
    /// how many of them enclose the current one: a hard-link cycle or a shared group is
    /// refused on its second visit, and nesting deeper than kH5adMaxGroupDepth is refused,
    /// so a hostile file can neither recurse forever nor overflow the stack.
    std::map<haddr_t, std::string> visited_;
    int depth_ = 0;

    /// Marks one group as entered for the duration of its reading.
    class GroupVisit {
    public:
        GroupVisit(ElementReader& r, hid_t g) : r_(r) {
            if (r_.depth_ >= kH5adMaxGroupDepth)
                throw Error(fmt::format("{}: groups nested more than {} deep (hostile or damaged file?)", h5::where(g),
                                        kH5adMaxGroupDepth));
            H5O_info_t info;
            if (H5Oget_info2(g, &info, H5O_INFO_BASIC) < 0)
                throw Error(fmt::format("{}: cannot read object header ({})", h5::where(g), h5::error_stack()));
            const auto [it, fresh] = r_.visited_.emplace(info.addr, h5::object_path(g));
            if (!fresh) {
                const auto here = h5::object_path(g);
                const bool cycle = here.size() > it->second.size() && here.compare(0, it->second.size(), it->second) == 0 &&
                                   here[it->second.size()] == '/';
                throw Error(fmt::format("{}: {} {} (hard links that {} are not allowed in an h5ad file)", h5::where(g),
                                        cycle ? "hard-link cycle: this group is its own ancestor" : "this group is also",
                                        it->second, cycle ? "form a cycle" : "share a group"));
            }
            ++r_.depth_;
        }
        ~GroupVisit() { --r_.depth_; }
        GroupVisit(const GroupVisit&) = delete;
        GroupVisit& operator=(const GroupVisit&) = delete;

    private:
        ElementReader& r_;
    };

    std::optional<Element> read_group(hid_t g) {
        const auto enc = encoding_of(g);
        if (enc == "csr_matrix" || enc == "csc_matrix" || h5::has_attr(g, "h5sparse_format"))
            return Element{read_sparse(g)};
        if (enc == "dataframe") return Element{read_dataframe_group(g)};
        if (enc == "categorical") return Element{read_categorical(g)};
        if (enc == "nullable-integer" || enc == "nullable-boolean" || enc == "nullable-string-array")
            return Element{read_nullable(g, enc)};
        if (enc.empty() || enc == "dict" || enc == "raw" || enc == "anndata") return Element{read_mapping(g)};
        warn(fmt::format("{}: skipped element with unsupported encoding '{}'", h5::where(g), enc));
        return std::nullopt;
    }

    std::optional<Element> read_dataset(hid_t d) {
        const auto enc = encoding_of(d);
        Handle type(H5Dget_type(d));
        const auto cls = H5Tget_class(type);
        if (enc == "null") {
            warn(fmt::format("{}: skipped null element", h5::where(d)));
            return std::nullopt;
        }
        if (cls == H5T_STRING) return Element{h5::read_strings(d)};
        if (cls == H5T_COMPOUND) return Element{h5::read_compound(d)};
        if (cls == H5T_REFERENCE) {
            warn(fmt::format("{}: skipped array of object references", h5::where(d)));
            return std::nullopt;
        }
        return Element{h5::read_ndarray(d)};
    }

    SparseArray read_sparse(hid_t g) {
        SparseArray s;
        const auto enc = encoding_of(g);
        std::string format;
        if (!enc.empty()) format = enc == "csc_matrix" ? "csc" : "csr";
        else format = h5::read_string_attr(g, "h5sparse_format").value_or("csr");
        if (format != "csr" && format != "csc")
            throw Error(fmt::format("{}: unknown sparse format '{}'", h5::where(g), format));
        s.format = format == "csc" ? SparseArray::Format::csc : SparseArray::Format::csr;
        const auto shape = h5::read_int_array_attr(g, h5::has_attr(g, "shape") ? "shape" : "h5sparse_shape");
        if (shape.size() != 2) throw Error(fmt::format("{}: sparse shape must have 2 entries", h5::where(g)));
        if (shape[0] < 0 || shape[1] < 0 || shape[0] == std::numeric_limits<std::int64_t>::max() ||
            shape[1] == std::numeric_limits<std::int64_t>::max())
            throw Error(fmt::format("{}: sparse shape ({}, {}) is not a matrix's", h5::where(g), shape[0], shape[1]));
        s.n_rows = shape[0];
        s.n_cols = shape[1];
        for (const char* part : {"data", "indices", "indptr"})
            if (!h5::is_dataset(g, part)) throw Error(fmt::format("{}: sparse matrix has no '{}' dataset", h5::where(g), part));
        s.data = h5::read_ndarray(h5::open_dataset(g, "data"));
        s.indices = h5::read_ndarray(h5::open_dataset(g, "indices"));
        s.indptr = h5::read_ndarray(h5::open_dataset(g, "indptr"));
        const auto major = s.format == SparseArray::Format::csr ? s.n_rows : s.n_cols;
        if (s.indptr.size() != major + 1)
            throw Error(fmt::format("{}: indptr has {} entries but the {} matrix of shape ({}, {}) needs {}", h5::where(g),
                                    s.indptr.size(), format, s.n_rows, s.n_cols, major + 1));
        if (s.indices.size() != s.data.size())
            throw Error(fmt::format("{}: {} indices but {} values", h5::where(g), s.indices.size(), s.data.size()));
        return s;
    }

    std::variant<StringArray, NdArray> read_categories(hid_t d) {
        if (h5::dataset_is_string(d)) return h5::read_strings(d);
        return h5::read_ndarray(d);
    }

    Categorical read_categorical(hid_t g) {
        Categorical c;
        c.codes = h5::read_ndarray(h5::open_dataset(g, "codes"));
        if (h5::is_group(g, "categories"))
            throw Error(fmt::format("{}: categories stored as a group are not supported", h5::where(g)));
        c.categories = read_categories(h5::open_dataset(g, "categories"));
        c.ordered = h5::read_bool_attr(g, "ordered").value_or(false);
        return c;
    }

    NullableArray read_nullable(hid_t g, const std::string& enc) {
        NullableArray n;
        n.kind = enc == "nullable-integer"   ? NullableArray::Kind::integer
                 : enc == "nullable-boolean" ? NullableArray::Kind::boolean
                                             : NullableArray::Kind::string;
        Handle values = h5::open_dataset(g, "values");
        if (n.kind == NullableArray::Kind::string) n.strings = h5::read_strings(values);
        else n.values = h5::read_ndarray(values);
        const auto mask = h5::read_ndarray(h5::open_dataset(g, "mask"));
        n.mask.resize(static_cast<std::size_t>(mask.size()));
        for (std::int64_t i = 0; i < mask.size(); ++i) n.mask[i] = mask.at_int(i) != 0;
        if (static_cast<std::int64_t>(n.mask.size()) != n.size())
            throw Error(fmt::format("{}: mask has {} entries but values {}", h5::where(g), n.mask.size(), n.size()));
        return n;
    }

    Column read_column(hid_t df, const std::string& name) {
        const auto what = fmt::format("{}/{}", h5::where(df), name);
        if (!h5::link_exists(df, name)) throw Error(fmt::format("{}: column listed in column-order is missing", what));
        if (h5::is_dataset(df, name)) {
            Handle d = h5::open_dataset(df, name);
            if (h5::has_attr(d, "categories")) { // anndata 0.7
                Categorical c;
                c.codes = h5::read_ndarray(d);
                Handle cats = h5::attr_is_reference(d, "categories")
                                  ? h5::deref_attr(d, "categories")
                                  : h5::open_dataset(df, "__categories/" + *h5::read_string_attr(d, "categories"));
                c.categories = read_categories(cats);
                c.ordered = h5::read_bool_attr(cats, "ordered").value_or(false);
                return c;
            }
        }
        auto e = read(df, name);
        if (!e) throw Error(fmt::format("{}: unsupported column encoding", what));
        return std::visit(
            [&](auto&& v) -> Column {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, NdArray> || std::is_same_v<T, StringArray> ||
                              std::is_same_v<T, Categorical> || std::is_same_v<T, NullableArray>)
                    return std::move(v);
                else throw Error(fmt::format("{}: a dataframe column must be a 1-D array", what));
            },
            std::move(e->value));
    }

    DataFrame read_dataframe_group(hid_t g) {
        const GroupVisit visit(*this, g);
        DataFrame df;
        // Group without dataframe attributes: an empty frame (anndata writes those for X-less objects).
        df.index_name = h5::read_string_attr(g, "_index").value_or(h5::is_dataset(g, "_index") ? "_index" : "index");
        if (!h5::is_dataset(g, df.index_name))
            throw Error(fmt::format("{}: dataframe index dataset '{}' is missing", h5::where(g), df.index_name));
        Handle idx = h5::open_dataset(g, df.index_name);
        if (h5::dataset_is_string(idx)) df.index = h5::read_strings(idx).values;
        else {
            const auto a = h5::read_ndarray(idx);
            for (std::int64_t i = 0; i < a.size(); ++i) df.index.push_back(fmt::format("{}", a.at_int(i)));
        }
        std::vector<std::string> order;
        if (h5::has_attr(g, "column-order")) {
            order = h5::read_string_array_attr(g, "column-order");
        } else {
            for (const auto& c : h5::children(g))
                if (c != df.index_name && c != "__categories") order.push_back(c);
        }
        for (const auto& name : order) {
            auto col = read_column(g, name);
            if (column_size(col) != df.n_rows())
                throw Error(fmt::format("{}/{}: column has {} rows but the index has {}", h5::where(g), name,
                                        column_size(col), df.n_rows()));
            df.columns.emplace_back(name, std::move(col));
        }
        return df;
    }

    /// anndata <= 0.6: obs/var as one compound dataset, index in the "index" field.
    DataFrame read_compound_dataframe(hid_t d) {
        auto rec = h5::read_compound(d);
        DataFrame df;
        df.index_name = "index";
        for (auto& [name, field] : rec.fields) {
            Column col = std::visit([](auto&& f) -> Column { return std::move(f); }, std::move(field));
            if (name == "index") df.index = column_as_strings(col, h5::where(d) + " index");
            else df.columns.emplace_back(name, std::move(col));
        }
        if (static_cast<std::int64_t>(df.index.size()) != rec.n) throw Error(fmt::format("{}: no 'index' field", h5::where(d)));
        return df;
    }
};

/// anndata <= 0.6 kept categories of obs/var column COL in uns["COL_categories"].
void attach_legacy_categories(DataFrame& df, Mapping& uns) {
    for (auto& [name, col] : df.columns) {
        const auto key = name + "_categories";
        auto* cats = uns.find(key);
        auto* codes = std::get_if<NdArray>(&col);
        if (!cats || !codes || dtype_is_float(codes->dtype)) continue;
        Categorical c;
        c.codes = *codes;
        if (auto* s = std::get_if<StringArray>(&cats->value)) c.categories = *s;
        else if (auto* a = std::get_if<NdArray>(&cats->value)) c.categories = *a;
        else continue;
        col = std::move(c);
        std::erase_if(uns.items, [&](const auto& kv) { return kv.first == key; });
    }
}

std::int64_t matrix_rows(const std::variant<NdArray, SparseArray>& m) {
    if (const auto* s = std::get_if<SparseArray>(&m)) return s->n_rows;
    return std::get<NdArray>(m).shape[0];
}
std::int64_t matrix_cols(const std::variant<NdArray, SparseArray>& m) {
    if (const auto* s = std::get_if<SparseArray>(&m)) return s->n_cols;
    return std::get<NdArray>(m).shape[1];
}

std::int64_t element_rows(const Element& e) {
    return std::visit(
        [](const auto& v) -> std::int64_t {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, NdArray>) return v.shape.empty() ? -1 : v.shape[0];
            else if constexpr (std::is_same_v<T, SparseArray>) return v.n_rows;
            else if constexpr (std::is_same_v<T, DataFrame>) return v.n_rows();
            else if constexpr (std::is_same_v<T, StringArray>) return v.shape.empty() ? -1 : v.shape[0];
            else if constexpr (std::is_same_v<T, RecordArray>) return v.n;
            else return -1;
        },
        e.value);
}

void check_axis(const Mapping& m, std::int64_t n, const std::string& file, const std::string& group, const char* axis) {
    for (const auto& [key, e] : m.items) {
        const auto rows = element_rows(e);
        if (rows != n)
            throw Error(fmt::format("{}: {}['{}'] has {} rows but there are {} {}", file, group, key, rows, n, axis));
    }
}

} // namespace

namespace {
H5adLayout layout_of(hid_t f, const std::string& root_encoding) {
    if (root_encoding == "anndata") return H5adLayout::modern;
    if (h5::is_dataset(f, "obs")) return H5adLayout::legacy_06;
    return H5adLayout::legacy_07;
}
} // namespace

H5adLayout read_h5ad_layout(const std::string& path) {
    Handle f = h5::open_file_read(path);
    if (!h5::link_exists(f, "obs")) throw Error(fmt::format("{}: not an AnnData file (no obs element)", path));
    return layout_of(f, encoding_of(f));
}

namespace {
/// The length of a dataset that must be 1-D (a sparse matrix's arrays, a compound dataframe),
/// or an error naming it: a 0-d one has no length (and `.at(0)` of its shape would leak
/// `vector::_M_range_check` to the user).
std::int64_t length_1d(hid_t dset, const std::string& what) {
    const auto shape = h5::dataset_shape(dset);
    if (shape.size() != 1) throw Error(fmt::format("{}: expected a 1-D array, found {} dimensions", what, shape.size()));
    return shape[0];
}
} // namespace

std::int64_t h5ad_dataframe_rows(hid_t file, const char* name) {
    // anndata <= 0.6 stored a dataframe as one compound dataset
    if (h5::is_dataset(file, name)) {
        Handle d = h5::open_dataset(file, name);
        return length_1d(d, h5::where(d));
    }
    Handle g = h5::open_group(file, name);
    const auto index_name = h5::read_string_attr(g, "_index").value_or(h5::is_dataset(g, "_index") ? "_index" : "index");
    if (!h5::is_dataset(g, index_name))
        throw Error(fmt::format("{}: dataframe index dataset '{}' is missing", h5::where(g), index_name));
    const auto shape = h5::dataset_shape(h5::open_dataset(g, index_name));
    if (shape.size() != 1) throw Error(fmt::format("{}/{}: the index is not 1-D", h5::where(g), index_name));
    return shape[0];
}

namespace {
// read_h5ad() on a file already open (on disk or an in-memory image); @p path names it in messages.
AnnData read_h5ad_open(Handle f, const std::string& path, const H5adReadOptions& options,
                       std::vector<std::string>* warnings) {
    ElementReader reader(warnings);
    AnnData ad;
    const auto root_enc = encoding_of(f);
    const bool has_obs = h5::link_exists(f, "obs"), has_var = h5::link_exists(f, "var");
    if (!has_obs || !has_var)
        throw Error(fmt::format("{}: not an AnnData file (no {} element)", path, has_obs ? "var" : "obs"));
    ad.layout = layout_of(f, root_enc);

    if (options.read_obs) ad.obs = reader.read_dataframe(f, "obs");
    ad.var = reader.read_dataframe(f, "var");
    ad.n_obs = options.read_obs ? ad.obs.n_rows() : h5ad_dataframe_rows(f, "obs");
    ad.n_vars = ad.var.n_rows();

    if (h5::link_exists(f, "X")) {
        if (options.read_X) {
            ad.X = reader.read_matrix(f, "X");
        } else {
            // still check the shape so a broken file is caught early
            const auto info = inspect_h5ad_matrix(path, {});
            if (info.n_rows != ad.n_obs || info.n_cols != ad.n_vars)
                throw Error(fmt::format("{}: X has shape ({}, {}) but obs has {} rows and var {}", path, info.n_rows,
                                        info.n_cols, ad.n_obs, ad.n_vars));
        }
    }
    if (ad.X) {
        if (matrix_rows(*ad.X) != ad.n_obs)
            throw Error(fmt::format("{}: obs has {} rows but X has {}", path, ad.n_obs, matrix_rows(*ad.X)));
        if (matrix_cols(*ad.X) != ad.n_vars)
            throw Error(fmt::format("{}: var has {} rows but X has {} columns", path, ad.n_vars, matrix_cols(*ad.X)));
    }

    auto read_map = [&](const char* name, bool load) {
        Mapping m;
        if (!h5::link_exists(f, name)) return m;
        if (h5::is_dataset(f, name)) {
            // anndata <= 0.6 stored obsm / varm as one record array, a field per key
            Handle d = h5::open_dataset(f, name);
            Handle t(H5Dget_type(d));
            if (H5Tget_class(t) != H5T_COMPOUND) throw Error(fmt::format("{}: '{}' must be a group", path, name));
            for (auto& [k, field] : h5::read_compound(d).fields)
                std::visit([&m, &key = k](auto&& v) { m.items.emplace_back(key, Element{std::move(v)}); }, std::move(field));
            return m;
        }
        if (!h5::is_group(f, name)) throw Error(fmt::format("{}: '{}' must be a group", path, name));
        Handle g = h5::open_group(f, name);
        if (load) return reader.read_mapping(g);
        return m; // skipped by request (the caller reads these matrices itself)
    };
    ad.obsm = read_map("obsm", options.read_obs);
    ad.varm = read_map("varm", true);
    ad.obsp = read_map("obsp", options.read_obsp);
    ad.varp = read_map("varp", options.read_obsp);
    ad.layers = read_map("layers", options.read_layers);
    ad.uns = read_map("uns", true);
    check_axis(ad.obsm, ad.n_obs, path, "obsm", "cells");
    check_axis(ad.varm, ad.n_vars, path, "varm", "genes");
    check_axis(ad.obsp, ad.n_obs, path, "obsp", "cells");
    check_axis(ad.varp, ad.n_vars, path, "varp", "genes");
    for (const auto& [key, e] : ad.layers.items) {
        const auto* s = std::get_if<SparseArray>(&e.value);
        const auto* a = std::get_if<NdArray>(&e.value);
        const auto r = s ? s->n_rows : (a && a->shape.size() == 2 ? a->shape[0] : -1);
        const auto c = s ? s->n_cols : (a && a->shape.size() == 2 ? a->shape[1] : -1);
        if (r != ad.n_obs || c != ad.n_vars)
            throw Error(fmt::format("{}: layers['{}'] has shape ({}, {}) but X is ({}, {})", path, key, r, c, ad.n_obs, ad.n_vars));
    }

    // anndata <= 0.6 wrote raw as top-level "raw.X", "raw.var", "raw.varm"
    const bool legacy_raw = !h5::is_group(f, "raw") && h5::link_exists(f, "raw.X");
    if (h5::is_group(f, "raw") || legacy_raw) {
        Handle raw = legacy_raw ? h5::open_group(f, "/") : h5::open_group(f, "raw");
        const std::string prefix = legacy_raw ? "raw." : "";
        RawData rd;
        if (h5::link_exists(raw, prefix + "var")) rd.var = reader.read_dataframe(raw, prefix + "var");
        if (h5::link_exists(raw, prefix + "X") && options.read_raw_X) {
            rd.X = reader.read_matrix(raw, prefix + "X");
            if (matrix_rows(*rd.X) != ad.n_obs)
                throw Error(fmt::format("{}: raw.X has {} rows but obs has {}", path, matrix_rows(*rd.X), ad.n_obs));
            if (matrix_cols(*rd.X) != rd.var.n_rows())
                throw Error(fmt::format("{}: raw.X has {} columns but raw.var has {} rows", path, matrix_cols(*rd.X),
                                        rd.var.n_rows()));
        }
        if (h5::is_group(raw, prefix + "varm")) rd.varm = reader.read_mapping(h5::open_group(raw, prefix + "varm"));
        if (legacy_raw && h5::is_dataset(f, "raw.varm"))
            for (auto& [k, field] : h5::read_compound(h5::open_dataset(f, "raw.varm")).fields)
                std::visit([&rd, &key = k](auto&& v) { rd.varm.items.emplace_back(key, Element{std::move(v)}); },
                           std::move(field));
        ad.raw = std::move(rd);
    }

    if (ad.layout == H5adLayout::legacy_06) {
        attach_legacy_categories(ad.obs, ad.uns);
        attach_legacy_categories(ad.var, ad.uns);
    }
    check_anndata(ad, path, options.read_obs);
    return ad;
}
} // namespace

AnnData read_h5ad(const std::string& path, const H5adReadOptions& options, std::vector<std::string>* warnings) {
    return read_h5ad_open(h5::open_file_read(path), path, options, warnings);
}

AnnData read_h5ad_image(std::span<const std::byte> image, const std::string& what, const H5adReadOptions& options,
                        std::vector<std::string>* warnings) {
    return read_h5ad_open(h5::open_file_image(image, what), what, options, warnings);
}

std::string H5adMatrixLocation::path() const {
    if (use_raw && !layer.empty()) throw UsageError("choose either a layer or raw, not both");
    if (use_raw) return "raw/X";
    if (!layer.empty()) return "layers/" + layer;
    return "X";
}

namespace {

struct OpenMatrix {
    Handle file;
    Handle object; // group (sparse) or dataset (dense)
    H5adMatrixInfo info;
};

OpenMatrix open_matrix(const std::string& path, const H5adMatrixLocation& where) {
    OpenMatrix m;
    m.file = h5::open_file_read(path);
    auto name = where.path();
    if (where.use_raw && !h5::link_exists(m.file, name) && h5::link_exists(m.file, "raw.X")) name = "raw.X"; // anndata <= 0.6
    if (!h5::link_exists(m.file, name)) {
        std::string hint;
        if (!where.layer.empty() && h5::is_group(m.file, "layers")) {
            const auto layers = h5::children(h5::open_group(m.file, "layers"));
            hint = layers.empty() ? " (the file has no layers)" : fmt::format(" (layers present: {})", fmt::join(layers, ", "));
        }
        throw Error(fmt::format("{}: no {} in this file{}", path, name, hint));
    }
    if (h5::is_group(m.file, name)) {
        m.object = h5::open_group(m.file, name);
        const auto enc = encoding_of(m.object);
        std::string format = enc == "csc_matrix" ? "csc" : enc == "csr_matrix" ? "csr" : "";
        if (format.empty()) format = h5::read_string_attr(m.object, "h5sparse_format").value_or("");
        if (format != "csr" && format != "csc")
            throw Error(fmt::format("{}: {} is a group but not a sparse matrix (encoding '{}')", path, name, enc));
        m.info.encoding = format + "_matrix";
        const auto shape = h5::read_int_array_attr(m.object, h5::has_attr(m.object, "shape") ? "shape" : "h5sparse_shape");
        if (shape.size() != 2) throw Error(fmt::format("{}: {} has a malformed shape attribute", path, name));
        m.info.n_rows = shape[0];
        m.info.n_cols = shape[1];
        for (const char* part : {"data", "indices", "indptr"})
            if (!h5::is_dataset(m.object, part)) throw Error(fmt::format("{}: {} has no '{}' dataset", path, name, part));
        Handle data = h5::open_dataset(m.object, "data");
        h5::check_filters(data);
        h5::check_filters(h5::open_dataset(m.object, "indices"));
        for (const char* part : {"data", "indices", "indptr"}) h5::check_stored_size(h5::open_dataset(m.object, part));
        m.info.dtype = dtype_name(h5::dataset_dtype(data));
        m.info.nnz = length_1d(data, fmt::format("{}: {}/data", path, name));
        for (const char* part : {"indices", "indptr"})
            (void)length_1d(h5::open_dataset(m.object, part), fmt::format("{}: {}/{}", path, name, part));
    } else {
        m.object = h5::open_dataset(m.file, name);
        h5::check_filters(m.object);
        h5::check_stored_size(m.object);
        const auto shape = h5::dataset_shape(m.object);
        if (shape.size() != 2) throw Error(fmt::format("{}: {} is not a 2-D matrix", path, name));
        m.info.encoding = "array";
        m.info.dtype = dtype_name(h5::dataset_dtype(m.object));
        m.info.n_rows = shape[0];
        m.info.n_cols = shape[1];
    }
    if (m.info.n_cols > std::numeric_limits<std::int32_t>::max() || m.info.n_rows > std::numeric_limits<std::int32_t>::max() - 1)
        if (m.info.encoding == "csc_matrix" || m.info.n_cols > std::numeric_limits<std::int32_t>::max())
            throw Error(fmt::format("{}: {} is too large for 32-bit gene indices", path, name));
    return m;
}

/// Reads the sparse arrays of an open matrix as CSR of its major axis.
CsrMatrix read_major(const OpenMatrix& m, const std::string& what) {
    const bool csc = m.info.encoding == "csc_matrix";
    CsrMatrix out;
    out.n_rows = csc ? m.info.n_cols : m.info.n_rows;
    out.n_cols = csc ? m.info.n_rows : m.info.n_cols;
    Handle indptr = h5::open_dataset(m.object, "indptr");
    if (const auto n = length_1d(indptr, what + "/indptr"); n != out.n_rows + 1)
        throw Error(fmt::format("{}: indptr has {} entries, expected {}", what, n, out.n_rows + 1));
    out.indptr.resize(static_cast<std::size_t>(out.n_rows + 1));
    h5::read_range(indptr, 0, out.n_rows + 1, out.indptr.data());
    const auto nnz = m.info.nnz;
    if (length_1d(h5::open_dataset(m.object, "indices"), what + "/indices") != nnz)
        throw Error(fmt::format("{}: indices and data differ in length", what));
    check_fits_in_memory(checked_bytes(static_cast<std::uint64_t>(nnz), sizeof(float) + sizeof(std::int32_t)), what);
    resize_for_bulk_read(out.values, static_cast<std::size_t>(nnz));
    resize_for_bulk_read(out.indices, static_cast<std::size_t>(nnz));
    h5::read_range(h5::open_dataset(m.object, "data"), 0, nnz, out.values.data());
    h5::read_range(h5::open_dataset(m.object, "indices"), 0, nnz, out.indices.data());
    out.validate(what);
    return out;
}

} // namespace

H5adMatrixInfo inspect_h5ad_matrix(const std::string& path, const H5adMatrixLocation& where) {
    return open_matrix(path, where).info;
}

CsrMatrix read_h5ad_matrix(const std::string& path, const H5adMatrixLocation& where) {
    auto m = open_matrix(path, where);
    const auto what = fmt::format("{}:{}", path, where.path());
    if (m.info.encoding == "array") {
        // the dense floats and their CSR copy (values and indices) at worst
        check_fits_in_memory(checked_bytes(checked_bytes(static_cast<std::uint64_t>(m.info.n_rows),
                                                         static_cast<std::uint64_t>(m.info.n_cols)),
                                           3 * sizeof(float)),
                             what);
        std::vector<float> dense(static_cast<std::size_t>(m.info.n_rows * m.info.n_cols));
        h5::read_rows_2d(m.object, 0, m.info.n_rows, dense.data());
        return csr_from_dense(dense, m.info.n_rows, m.info.n_cols);
    }
    auto major = read_major(m, what);
    if (m.info.encoding == "csc_matrix") return transpose(major);
    return major; // moved, not copied (a ?: here would copy the whole matrix)
}

struct H5adRowReader::Impl {
    OpenMatrix m;
    std::string what;
    std::vector<std::int64_t> indptr; // CSR only
    Handle data, indices;              // CSR only
    h5::ChunkCache data_cache, indices_cache; // the chunk shared by consecutive blocks
    std::optional<CsrMatrix> whole;    // CSC, loaded on first use
};

H5adRowReader::H5adRowReader(const std::string& path, const H5adMatrixLocation& where) : impl_(std::make_unique<Impl>()) {
    impl_->m = open_matrix(path, where);
    impl_->what = fmt::format("{}:{}", path, where.path());
    if (impl_->m.info.encoding == "csr_matrix") {
        Handle indptr = h5::open_dataset(impl_->m.object, "indptr");
        const auto n = impl_->m.info.n_rows + 1;
        if (const auto len = length_1d(indptr, impl_->what + "/indptr"); len != n)
            throw Error(fmt::format("{}: indptr has {} entries, expected {}", impl_->what, len, n));
        impl_->indptr.resize(static_cast<std::size_t>(n));
        h5::read_range(indptr, 0, n, impl_->indptr.data());
        if (impl_->indptr.front() != 0 || impl_->indptr.back() != impl_->m.info.nnz)
            throw Error(fmt::format("{}: indptr does not span the {} stored values", impl_->what, impl_->m.info.nnz));
        impl_->data = h5::open_dataset(impl_->m.object, "data");
        impl_->indices = h5::open_dataset(impl_->m.object, "indices");
    }
}

H5adRowReader::~H5adRowReader() = default;
std::int64_t H5adRowReader::n_rows() const { return impl_->m.info.n_rows; }
std::int64_t H5adRowReader::n_cols() const { return impl_->m.info.n_cols; }
const H5adMatrixInfo& H5adRowReader::info() const { return impl_->m.info; }

CsrMatrix H5adRowReader::read_rows(std::int64_t begin, std::int64_t end) {
    CsrMatrix out;
    read_rows_into(begin, end, out);
    return out;
}

void H5adRowReader::read_rows_into(std::int64_t begin, std::int64_t end, CsrMatrix& out) {
    auto& im = *impl_;
    if (begin < 0 || end < begin || end > im.m.info.n_rows)
        throw Error(fmt::format("{}: rows [{}, {}) outside 0..{}", im.what, begin, end, im.m.info.n_rows));
    if (im.m.info.encoding == "array") {
        check_fits_in_memory(checked_bytes(checked_bytes(static_cast<std::uint64_t>(end - begin),
                                                         static_cast<std::uint64_t>(im.m.info.n_cols)),
                                           3 * sizeof(float)),
                             fmt::format("{} rows [{}, {})", im.what, begin, end));
        std::vector<float> dense(static_cast<std::size_t>((end - begin) * im.m.info.n_cols));
        h5::read_rows_2d(im.m.object, begin, end - begin, dense.data());
        out = csr_from_dense(dense, end - begin, im.m.info.n_cols);
        return;
    }
    if (im.m.info.encoding == "csc_matrix") {
        if (!im.whole) im.whole = transpose(read_major(im.m, im.what));
        out = slice_rows(*im.whole, begin, end);
        return;
    }
    out.n_rows = end - begin;
    out.n_cols = im.m.info.n_cols;
    const auto lo = im.indptr[begin], hi = im.indptr[end];
    if (hi < lo) throw Error(fmt::format("{}: indptr decreases within rows [{}, {})", im.what, begin, end));
    out.indptr.resize(static_cast<std::size_t>(out.n_rows + 1));
    for (std::int64_t r = 0; r <= out.n_rows; ++r) out.indptr[r] = im.indptr[begin + r] - lo;
    // @p out's buffers are reused when large enough; a first large one gets huge pages (core/memory.hpp)
    resize_for_bulk_read(out.values, static_cast<std::size_t>(hi - lo));
    resize_for_bulk_read(out.indices, static_cast<std::size_t>(hi - lo));
    h5::read_range(im.data, lo, hi - lo, out.values.data(), &im.data_cache);
    h5::read_range(im.indices, lo, hi - lo, out.indices.data(), &im.indices_cache);
    out.validate(fmt::format("{} rows [{}, {})", im.what, begin, end));
}

} // namespace scx
