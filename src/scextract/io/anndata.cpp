#include "scextract/io/anndata.hpp"

#include "scextract/core/error.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace scx {

const char* dtype_name(DType t) {
    switch (t) {
    case DType::int8: return "int8";
    case DType::int16: return "int16";
    case DType::int32: return "int32";
    case DType::int64: return "int64";
    case DType::uint8: return "uint8";
    case DType::uint16: return "uint16";
    case DType::uint32: return "uint32";
    case DType::uint64: return "uint64";
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::bool_: return "bool";
    }
    return "?";
}

std::size_t dtype_size(DType t) {
    switch (t) {
    case DType::int8:
    case DType::uint8:
    case DType::bool_: return 1;
    case DType::int16:
    case DType::uint16: return 2;
    case DType::int32:
    case DType::uint32:
    case DType::float32: return 4;
    case DType::int64:
    case DType::uint64:
    case DType::float64: return 8;
    }
    return 0;
}

bool dtype_is_float(DType t) { return t == DType::float32 || t == DType::float64; }

std::int64_t NdArray::size() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

namespace {
template <class F> decltype(auto) visit_dtype(DType t, F&& f) {
    switch (t) {
    case DType::int8: return f(std::int8_t{});
    case DType::int16: return f(std::int16_t{});
    case DType::int32: return f(std::int32_t{});
    case DType::int64: return f(std::int64_t{});
    case DType::uint8: return f(std::uint8_t{});
    case DType::uint16: return f(std::uint16_t{});
    case DType::uint32: return f(std::uint32_t{});
    case DType::uint64: return f(std::uint64_t{});
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    case DType::bool_: return f(std::uint8_t{});
    }
    throw Error("unknown dtype");
}

template <class T> constexpr DType dtype_of() {
    if constexpr (std::is_same_v<T, std::int8_t>) return DType::int8;
    else if constexpr (std::is_same_v<T, std::int16_t>) return DType::int16;
    else if constexpr (std::is_same_v<T, std::int32_t>) return DType::int32;
    else if constexpr (std::is_same_v<T, std::int64_t>) return DType::int64;
    else if constexpr (std::is_same_v<T, std::uint8_t>) return DType::uint8;
    else if constexpr (std::is_same_v<T, std::uint16_t>) return DType::uint16;
    else if constexpr (std::is_same_v<T, std::uint32_t>) return DType::uint32;
    else if constexpr (std::is_same_v<T, std::uint64_t>) return DType::uint64;
    else if constexpr (std::is_same_v<T, float>) return DType::float32;
    else if constexpr (std::is_same_v<T, double>) return DType::float64;
    else if constexpr (std::is_same_v<T, bool>) return DType::bool_;
    else static_assert(sizeof(T) == 0, "unsupported element type");
}
} // namespace

double NdArray::at(std::int64_t i) const {
    return visit_dtype(dtype, [&](auto tag) { return static_cast<double>(data<decltype(tag)>()[i]); });
}

std::int64_t NdArray::at_int(std::int64_t i) const {
    return visit_dtype(dtype, [&](auto tag) { return static_cast<std::int64_t>(data<decltype(tag)>()[i]); });
}

template <class T> NdArray NdArray::from(const std::vector<T>& v, std::vector<std::int64_t> shape) {
    NdArray a;
    a.dtype = dtype_of<T>();
    a.shape = shape.empty() ? std::vector<std::int64_t>{static_cast<std::int64_t>(v.size())} : std::move(shape);
    if (a.size() != static_cast<std::int64_t>(v.size())) throw Error("NdArray::from: shape does not match data size");
    a.bytes.resize(v.size() * dtype_size(a.dtype));
    if constexpr (std::is_same_v<T, bool>) {
        for (std::size_t i = 0; i < v.size(); ++i) a.bytes[i] = std::byte{static_cast<unsigned char>(v[i] ? 1 : 0)};
    } else if (!v.empty()) {
        std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
    }
    return a;
}

template NdArray NdArray::from(const std::vector<std::int8_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<std::int16_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<std::int32_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<std::int64_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<std::uint8_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<std::uint16_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<std::uint32_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<std::uint64_t>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<float>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<double>&, std::vector<std::int64_t>);
template NdArray NdArray::from(const std::vector<bool>&, std::vector<std::int64_t>);

NdArray NdArray::zeros(DType t, std::vector<std::int64_t> shape) {
    NdArray a;
    a.dtype = t;
    a.shape = std::move(shape);
    a.bytes.assign(static_cast<std::size_t>(a.size()) * dtype_size(t), std::byte{0});
    return a;
}

std::int64_t Categorical::n_categories() const {
    return std::visit([](const auto& c) -> std::int64_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, StringArray>) return static_cast<std::int64_t>(c.values.size());
        else return c.size();
    }, categories);
}

std::string Categorical::category_label(std::int64_t i) const {
    if (const auto* s = std::get_if<StringArray>(&categories)) return s->values.at(static_cast<std::size_t>(i));
    const auto& n = std::get<NdArray>(categories);
    if (dtype_is_float(n.dtype)) return fmt::format("{}", n.at(i));
    if (n.dtype == DType::bool_) return n.at_int(i) ? "True" : "False";
    return fmt::format("{}", n.at_int(i));
}

std::int64_t NullableArray::size() const {
    return kind == Kind::string ? static_cast<std::int64_t>(strings.values.size()) : values.size();
}

Mapping::Mapping() = default;
Mapping::~Mapping() = default;
Mapping::Mapping(const Mapping&) = default;
Mapping::Mapping(Mapping&&) noexcept = default;
Mapping& Mapping::operator=(const Mapping&) = default;
Mapping& Mapping::operator=(Mapping&&) noexcept = default;

const Element* Mapping::find(const std::string& key) const {
    for (const auto& [k, v] : items)
        if (k == key) return &v;
    return nullptr;
}

Element* Mapping::find(const std::string& key) {
    for (auto& [k, v] : items)
        if (k == key) return &v;
    return nullptr;
}

void Mapping::set(std::string key, Element value) {
    if (auto* e = find(key)) *e = std::move(value);
    else items.emplace_back(std::move(key), std::move(value));
}

const Column* DataFrame::find(const std::string& name) const {
    for (const auto& [k, v] : columns)
        if (k == name) return &v;
    return nullptr;
}

void DataFrame::set(std::string name, Column c) {
    for (auto& [k, v] : columns)
        if (k == name) {
            v = std::move(c);
            return;
        }
    columns.emplace_back(std::move(name), std::move(c));
}

std::string column_kind(const Column& c) {
    struct Visitor {
        std::string operator()(const NdArray& a) const { return a.dtype == DType::bool_ ? "bool" : "numeric"; }
        std::string operator()(const StringArray&) const { return "string"; }
        std::string operator()(const Categorical&) const { return "categorical"; }
        std::string operator()(const NullableArray& n) const {
            switch (n.kind) {
            case NullableArray::Kind::integer: return "nullable-integer";
            case NullableArray::Kind::boolean: return "nullable-boolean";
            case NullableArray::Kind::string: return "nullable-string";
            }
            return "nullable";
        }
    };
    return std::visit(Visitor{}, c);
}

std::int64_t column_size(const Column& c) {
    struct Visitor {
        std::int64_t operator()(const NdArray& a) const { return a.shape.empty() ? 1 : a.shape[0]; }
        std::int64_t operator()(const StringArray& s) const { return static_cast<std::int64_t>(s.values.size()); }
        std::int64_t operator()(const Categorical& k) const { return k.codes.size(); }
        std::int64_t operator()(const NullableArray& n) const { return n.size(); }
    };
    return std::visit(Visitor{}, c);
}

namespace {
CsrMatrix sparse_to_csr(const SparseArray& s, const std::string& what) {
    CsrMatrix m;
    const bool csr = s.format == SparseArray::Format::csr;
    m.n_rows = csr ? s.n_rows : s.n_cols;
    m.n_cols = csr ? s.n_cols : s.n_rows;
    const auto nnz = s.data.size();
    if (s.indices.size() != nnz) throw Error(fmt::format("{}: {} indices but {} values", what, s.indices.size(), nnz));
    if (m.n_cols > std::numeric_limits<std::int32_t>::max())
        throw Error(fmt::format("{}: {} columns exceed the int32 index range", what, m.n_cols));
    m.values.resize(static_cast<std::size_t>(nnz));
    m.indices.resize(static_cast<std::size_t>(nnz));
    visit_dtype(s.data.dtype, [&](auto tag) {
        const auto* p = s.data.data<decltype(tag)>();
        for (std::int64_t i = 0; i < nnz; ++i) m.values[i] = static_cast<float>(p[i]);
    });
    visit_dtype(s.indices.dtype, [&](auto tag) {
        const auto* p = s.indices.data<decltype(tag)>();
        for (std::int64_t i = 0; i < nnz; ++i) m.indices[i] = static_cast<std::int32_t>(p[i]);
    });
    m.indptr.resize(static_cast<std::size_t>(s.indptr.size()));
    for (std::int64_t i = 0; i < s.indptr.size(); ++i) m.indptr[i] = s.indptr.at_int(i);
    m.validate(what);
    return csr ? m : transpose(m);
}
} // namespace

CsrMatrix to_csr_f32(const std::variant<NdArray, SparseArray>& x, const std::string& what) {
    if (const auto* s = std::get_if<SparseArray>(&x)) return sparse_to_csr(*s, what);
    const auto& d = std::get<NdArray>(x);
    if (d.shape.size() != 2) throw Error(fmt::format("{}: expected a 2-D matrix, got {} dimensions", what, d.shape.size()));
    std::vector<float> dense(static_cast<std::size_t>(d.size()));
    visit_dtype(d.dtype, [&](auto tag) {
        const auto* p = d.data<decltype(tag)>();
        for (std::size_t i = 0; i < dense.size(); ++i) dense[i] = static_cast<float>(p[i]);
    });
    return csr_from_dense(dense, d.shape[0], d.shape[1]);
}

SparseArray from_csr(const CsrMatrix& m) {
    SparseArray s;
    s.format = SparseArray::Format::csr;
    s.n_rows = m.n_rows;
    s.n_cols = m.n_cols;
    s.data = NdArray::from(m.values);
    s.indices = NdArray::from(m.indices);
    // anndata writes int32 indptr when nnz fits, like scipy
    if (m.nnz() <= std::numeric_limits<std::int32_t>::max()) {
        std::vector<std::int32_t> p(m.indptr.begin(), m.indptr.end());
        s.indptr = NdArray::from(p);
    } else {
        s.indptr = NdArray::from(m.indptr);
    }
    return s;
}

namespace {
NdArray take_array_rows(const NdArray& a, const std::vector<std::int64_t>& rows) {
    auto shape = a.shape;
    if (shape.empty()) throw Error("take_rows: a scalar has no rows");
    const auto row_bytes = static_cast<std::size_t>(a.size() / std::max<std::int64_t>(shape[0], 1)) * dtype_size(a.dtype);
    shape[0] = static_cast<std::int64_t>(rows.size());
    NdArray out = NdArray::zeros(a.dtype, shape);
    for (std::size_t k = 0; k < rows.size(); ++k) {
        if (rows[k] < 0 || rows[k] >= a.shape[0]) throw Error(fmt::format("take_rows: row {} outside 0..{}", rows[k], a.shape[0]));
        std::memcpy(out.bytes.data() + k * row_bytes, a.bytes.data() + static_cast<std::size_t>(rows[k]) * row_bytes, row_bytes);
    }
    return out;
}
StringArray take_string_rows(const StringArray& s, const std::vector<std::int64_t>& rows) {
    StringArray out{{static_cast<std::int64_t>(rows.size())}, {}};
    for (auto r : rows) out.values.push_back(s.values.at(static_cast<std::size_t>(r)));
    return out;
}
} // namespace

Column take_rows(const Column& c, const std::vector<std::int64_t>& rows) {
    struct Visitor {
        const std::vector<std::int64_t>& rows;
        Column operator()(const NdArray& a) const { return take_array_rows(a, rows); }
        Column operator()(const StringArray& s) const { return take_string_rows(s, rows); }
        Column operator()(const Categorical& k) const {
            Categorical out = k;
            out.codes = take_array_rows(k.codes, rows);
            return out;
        }
        Column operator()(const NullableArray& n) const {
            NullableArray out;
            out.kind = n.kind;
            if (n.kind == NullableArray::Kind::string) out.strings = take_string_rows(n.strings, rows);
            else out.values = take_array_rows(n.values, rows);
            for (auto r : rows) out.mask.push_back(n.mask.at(static_cast<std::size_t>(r)));
            return out;
        }
    };
    return std::visit(Visitor{rows}, c);
}

std::vector<std::string> column_as_strings(const Column& c, const std::string& what) {
    if (const auto* s = std::get_if<StringArray>(&c)) return s->values;
    if (const auto* n = std::get_if<NullableArray>(&c); n && n->kind == NullableArray::Kind::string) {
        auto v = n->strings.values;
        for (std::size_t i = 0; i < v.size(); ++i)
            if (i < n->mask.size() && n->mask[i]) v[i].clear();
        return v;
    }
    if (const auto* k = std::get_if<Categorical>(&c)) {
        std::vector<std::string> out(static_cast<std::size_t>(k->codes.size()));
        const auto n_cat = k->n_categories();
        for (std::int64_t i = 0; i < k->codes.size(); ++i) {
            const auto code = k->codes.at_int(i);
            if (code >= 0 && code < n_cat) out[i] = k->category_label(code);
        }
        return out;
    }
    throw Error(fmt::format("{}: expected a string or categorical column, found {}", what, column_kind(c)));
}

} // namespace scx
