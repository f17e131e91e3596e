#include "scextract/io/anndata_check.hpp"

#include "scextract/core/error.hpp"

#include <cmath>
#include <set>
#include <type_traits>
#include <unordered_set>

#include <fmt/format.h>

namespace scx {

namespace {

bool is_integer(DType t) { return !dtype_is_float(t) && t != DType::bool_; }

void check_ndarray(const NdArray& a, const std::string& what) {
    std::int64_t n = 1;
    for (auto d : a.shape) {
        if (d < 0) throw Error(fmt::format("{}: negative dimension {}", what, d));
        n *= d;
    }
    if (a.bytes.size() != static_cast<std::size_t>(n) * dtype_size(a.dtype))
        throw Error(fmt::format("{}: {} bytes stored for {} {} values", what, a.bytes.size(), n, dtype_name(a.dtype)));
}

void check_strings(const StringArray& s, const std::string& what) {
    std::int64_t n = 1;
    for (auto d : s.shape) n *= d;
    if (n != static_cast<std::int64_t>(s.values.size()))
        throw Error(fmt::format("{}: shape says {} strings but {} are stored", what, n, s.values.size()));
}

/// Calls @p f with a typed pointer to the elements of an integer array (one switch per array,
/// not per element: the checks run over every stored value on each read and write).
template <class F> void with_integers(const NdArray& a, F&& f) {
    switch (a.dtype) {
    case DType::int8: return f(a.data<std::int8_t>());
    case DType::int16: return f(a.data<std::int16_t>());
    case DType::int32: return f(a.data<std::int32_t>());
    case DType::int64: return f(a.data<std::int64_t>());
    case DType::uint8: return f(a.data<std::uint8_t>());
    case DType::uint16: return f(a.data<std::uint16_t>());
    case DType::uint32: return f(a.data<std::uint32_t>());
    case DType::uint64: return f(a.data<std::uint64_t>());
    default: throw Error(fmt::format("not an integer array ({})", dtype_name(a.dtype)));
    }
}

/// A 1-D integer array of @p expected entries, named @p what.
void check_index_array(const NdArray& a, std::int64_t expected, const std::string& what) {
    check_ndarray(a, what);
    if (!is_integer(a.dtype)) throw Error(fmt::format("{}: must hold integers, found {}", what, dtype_name(a.dtype)));
    if (a.shape.size() != 1) throw Error(fmt::format("{}: must be 1-D, found {} dimensions", what, a.shape.size()));
    if (expected >= 0 && a.size() != expected)
        throw Error(fmt::format("{}: has {} entries, expected {}", what, a.size(), expected));
}

void check_categories(const Categorical& c, const std::string& what) {
    if (const auto* s = std::get_if<StringArray>(&c.categories)) {
        check_strings(*s, what);
        std::unordered_set<std::string> seen;
        for (const auto& v : s->values)
            if (!seen.insert(v).second)
                throw Error(fmt::format("{}: category '{}' appears twice (pandas needs unique categories)", what,
                                        v.size() > 80 ? v.substr(0, 80) + "..." : v));
        return;
    }
    const auto& n = std::get<NdArray>(c.categories);
    check_ndarray(n, what);
    std::set<double> seen;
    for (std::int64_t i = 0; i < n.size(); ++i) {
        const double v = n.at(i);
        if (std::isnan(v)) throw Error(fmt::format("{}: category {} is NaN (pandas refuses missing categories)", what, i));
        if (!seen.insert(v).second)
            throw Error(fmt::format("{}: category {} appears twice (pandas needs unique categories)", what, v));
    }
}

std::int64_t element_rows(const Element& e) {
    struct Visitor {
        std::int64_t operator()(const NdArray& a) const { return a.shape.empty() ? -1 : a.shape[0]; }
        std::int64_t operator()(const StringArray& s) const { return s.shape.empty() ? -1 : s.shape[0]; }
        std::int64_t operator()(const SparseArray& s) const { return s.n_rows; }
        std::int64_t operator()(const Categorical& c) const { return c.codes.size(); }
        std::int64_t operator()(const NullableArray& n) const { return n.size(); }
        std::int64_t operator()(const DataFrame& d) const { return d.n_rows(); }
        std::int64_t operator()(const Mapping&) const { return -1; }
        std::int64_t operator()(const RecordArray& r) const { return r.n; }
    };
    return std::visit(Visitor{}, e.value);
}

std::int64_t element_cols(const Element& e) {
    if (const auto* s = std::get_if<SparseArray>(&e.value)) return s->n_cols;
    if (const auto* a = std::get_if<NdArray>(&e.value)) return a->shape.size() >= 2 ? a->shape[1] : -1;
    return -1;
}

void check_dataframe(const DataFrame& df, const std::string& what, int depth);
void check_mapping(const Mapping& m, const std::string& what, int depth);

// Elements nest (uns dicts); the readers bound the depth they build, this bound only
// keeps a hand-made object from exhausting the stack.
constexpr int max_depth = 1000;

void check_element(const Element& e, const std::string& what, int depth) {
    if (depth > max_depth) throw Error(fmt::format("{}: nested more than {} levels deep", what, max_depth));
    struct Visitor {
        const std::string& what;
        int depth;
        void operator()(const NdArray& a) const { check_ndarray(a, what); }
        void operator()(const StringArray& s) const { check_strings(s, what); }
        void operator()(const SparseArray& s) const { check_sparse_array(s, what); }
        void operator()(const Categorical& c) const { check_column(c, c.codes.size(), what); }
        void operator()(const NullableArray& n) const { check_column(n, n.size(), what); }
        void operator()(const DataFrame& d) const { check_dataframe(d, what, depth); }
        void operator()(const Mapping& m) const { check_mapping(m, what, depth); }
        void operator()(const RecordArray& r) const {
            for (const auto& [k, f] : r.fields) {
                const auto rows = std::visit([](const auto& a) { return a.shape.empty() ? std::int64_t{-1} : a.shape[0]; }, f);
                if (rows != r.n) throw Error(fmt::format("{}: field '{}' has {} rows but the record array {}", what, k, rows, r.n));
            }
        }
    };
    std::visit(Visitor{what, depth}, e.value);
}

void check_mapping(const Mapping& m, const std::string& what, int depth) {
    for (const auto& [k, v] : m.items) check_element(v, what + "/" + k, depth + 1);
}

void check_dataframe(const DataFrame& df, const std::string& what, int /*depth*/) {
    for (const auto& [name, c] : df.columns) check_column(c, df.n_rows(), what + "/" + name);
}

void check_matrix(const std::variant<NdArray, SparseArray>& m, std::int64_t rows, std::int64_t cols, const std::string& what) {
    std::int64_t r = -1, c = -1;
    if (const auto* s = std::get_if<SparseArray>(&m)) {
        check_sparse_array(*s, what);
        r = s->n_rows;
        c = s->n_cols;
    } else {
        const auto& a = std::get<NdArray>(m);
        check_ndarray(a, what);
        if (a.shape.size() != 2) throw Error(fmt::format("{}: expected a 2-D matrix, found {} dimensions", what, a.shape.size()));
        r = a.shape[0];
        c = a.shape[1];
    }
    if (r != rows || c != cols)
        throw Error(fmt::format("{}: has shape ({}, {}) but the object is ({}, {})", what, r, c, rows, cols));
}

void check_axis_mapping(const Mapping& m, std::int64_t n, bool square, const std::string& what, const char* axis) {
    for (const auto& [k, e] : m.items) {
        const auto name = fmt::format("{}/{}", what, k);
        check_element(e, name, 1);
        const auto rows = element_rows(e);
        if (rows != n) throw Error(fmt::format("{}: has {} rows but there are {} {}", name, rows, n, axis));
        if (square && element_cols(e) != n)
            throw Error(fmt::format("{}: has {} columns but there are {} {}", name, element_cols(e), n, axis));
    }
}

} // namespace

void check_sparse_array(const SparseArray& s, const std::string& what) {
    if (s.n_rows < 0 || s.n_cols < 0) throw Error(fmt::format("{}: negative shape ({}, {})", what, s.n_rows, s.n_cols));
    const bool csr = s.format == SparseArray::Format::csr;
    const auto major = csr ? s.n_rows : s.n_cols, minor = csr ? s.n_cols : s.n_rows;
    check_ndarray(s.data, what + "/data");
    if (s.data.shape.size() != 1) throw Error(fmt::format("{}/data: must be 1-D, found {} dimensions", what, s.data.shape.size()));
    const auto nnz = s.data.size();
    check_index_array(s.indices, nnz, what + "/indices");
    check_index_array(s.indptr, major + 1, what + "/indptr");
    const auto& p = s.indptr;
    if (p.at_int(0) != 0) throw Error(fmt::format("{}/indptr: starts at {}, expected 0", what, p.at_int(0)));
    with_integers(p, [&](const auto* ptr) {
        for (std::int64_t r = 0; r < major; ++r)
            if (ptr[r + 1] < ptr[r])
                throw Error(fmt::format("{}/indptr: decreases at {} {} ({} then {})", what, csr ? "row" : "column", r,
                                        ptr[r], ptr[r + 1]));
    });
    if (p.at_int(major) != nnz)
        throw Error(fmt::format("{}/indptr: ends at {} but there are {} stored values", what, p.at_int(major), nnz));
    with_integers(s.indices, [&](const auto* idx) {
        for (std::int64_t k = 0; k < nnz; ++k) {
            using T = std::remove_cvref_t<decltype(idx[k])>;
            const auto i = idx[k];
            bool outside = false; // unsigned: compared widened, so a uint64 past INT64_MAX is outside too
            if constexpr (std::is_signed_v<T>) outside = i < 0 || static_cast<std::int64_t>(i) >= minor;
            else outside = static_cast<std::uint64_t>(i) >= static_cast<std::uint64_t>(minor);
            if (outside)
                throw Error(fmt::format("{}/indices: index {} at position {} is outside [0, {})", what, i, k, minor));
        }
    });
}

void check_column(const Column& c, std::int64_t n_rows, const std::string& what) {
    if (const auto* a = std::get_if<NdArray>(&c)) {
        check_ndarray(*a, what);
        if (a->shape.empty()) throw Error(fmt::format("{}: a column cannot be a scalar", what));
    } else if (const auto* s = std::get_if<StringArray>(&c)) {
        check_strings(*s, what);
    } else if (const auto* k = std::get_if<Categorical>(&c)) {
        check_index_array(k->codes, -1, what + "/codes");
        check_categories(*k, what + "/categories");
        const auto n_cat = k->n_categories();
        for (std::int64_t i = 0; i < k->codes.size(); ++i) {
            const auto code = k->codes.at_int(i);
            if (code < -1 || code >= n_cat)
                throw Error(fmt::format("{}/codes: code {} at row {} is outside [-1, {}) ({} categories)", what, code, i,
                                        n_cat, n_cat));
        }
    } else {
        const auto& n = std::get<NullableArray>(c);
        if (n.kind == NullableArray::Kind::string) check_strings(n.strings, what + "/values");
        else check_ndarray(n.values, what + "/values");
        if (static_cast<std::int64_t>(n.mask.size()) != n.size())
            throw Error(fmt::format("{}/mask: has {} entries but there are {} values", what, n.mask.size(), n.size()));
    }
    const auto rows = column_size(c);
    if (rows != n_rows) throw Error(fmt::format("{}: has {} rows but the index has {}", what, rows, n_rows));
}

void check_anndata(const AnnData& ad, const std::string& file, bool obs_loaded) {
    const auto at = [&](const std::string& element) { return fmt::format("{}: {}", file, element); };
    if (obs_loaded && ad.obs.n_rows() != ad.n_obs)
        throw Error(fmt::format("{}: obs has {} rows but the object {} cells", file, ad.obs.n_rows(), ad.n_obs));
    if (ad.var.n_rows() != ad.n_vars)
        throw Error(fmt::format("{}: var has {} rows but the object {} genes", file, ad.var.n_rows(), ad.n_vars));
    check_dataframe(ad.obs, at("obs"), 1);
    check_dataframe(ad.var, at("var"), 1);
    if (ad.X) check_matrix(*ad.X, ad.n_obs, ad.n_vars, at("X"));
    for (const auto& [k, e] : ad.layers.items) {
        const auto name = at("layers/" + k);
        if (const auto* s = std::get_if<SparseArray>(&e.value)) check_matrix(*s, ad.n_obs, ad.n_vars, name);
        else if (const auto* a = std::get_if<NdArray>(&e.value)) check_matrix(*a, ad.n_obs, ad.n_vars, name);
        else throw Error(fmt::format("{}: a layer must be a dense or sparse matrix", name));
    }
    if (obs_loaded) check_axis_mapping(ad.obsm, ad.n_obs, false, at("obsm"), "cells");
    check_axis_mapping(ad.varm, ad.n_vars, false, at("varm"), "genes");
    check_axis_mapping(ad.obsp, ad.n_obs, true, at("obsp"), "cells");
    check_axis_mapping(ad.varp, ad.n_vars, true, at("varp"), "genes");
    check_mapping(ad.uns, at("uns"), 0);
    if (ad.raw) {
        check_dataframe(ad.raw->var, at("raw/var"), 1);
        if (ad.raw->X) check_matrix(*ad.raw->X, ad.n_obs, ad.raw->var.n_rows(), at("raw/X"));
        check_axis_mapping(ad.raw->varm, ad.raw->var.n_rows(), false, at("raw/varm"), "raw genes");
    }
}

} // namespace scx
