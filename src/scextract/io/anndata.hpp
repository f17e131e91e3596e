#pragma once
/// @file anndata.hpp
/// @brief In-memory model of an AnnData object, faithful enough to round-trip
/// every element type of anndata's on-disk specification.
///
/// Numeric arrays keep their stored dtype (NdArray); algorithms convert at the
/// edge with to_csr_f32() and friends. Nothing here touches HDF5.

#include "scextract/core/csr_matrix.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace scx {

/// Element dtypes anndata stores. bool_ is HDF5's numpy-style enum bool.
enum class DType { int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool_ };

/// numpy's name for a dtype ("float32", "int64", "bool").
const char* dtype_name(DType t);
/// Size of one element in bytes.
std::size_t dtype_size(DType t);
/// True for float32 / float64.
bool dtype_is_float(DType t);

/// A numeric n-dimensional array in its stored dtype, C order. Shape {} is a scalar.
struct NdArray {
    DType dtype = DType::float32;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> bytes;

    [[nodiscard]] std::int64_t size() const;
    /// Typed view; T must match dtype exactly (bool_ is stored as std::uint8_t).
    template <class T> [[nodiscard]] const T* data() const { return reinterpret_cast<const T*>(bytes.data()); }
    template <class T> T* data() { return reinterpret_cast<T*>(bytes.data()); }
    /// Element i converted to double.
    [[nodiscard]] double at(std::int64_t i) const;
    /// Element i converted to int64 (floats are truncated).
    [[nodiscard]] std::int64_t at_int(std::int64_t i) const;

    /// Array from values; an empty @p shape means 1-D of v.size() elements.
    template <class T> static NdArray from(const std::vector<T>& v, std::vector<std::int64_t> shape = {});
    /// A 0-dimensional array (numeric-scalar).
    template <class T> static NdArray scalar(T value) {
        auto a = from(std::vector<T>{value});
        a.shape.clear();
        return a;
    }
    static NdArray zeros(DType t, std::vector<std::int64_t> shape);
};

/// Array of UTF-8 strings ("string-array"). Shape {} is a scalar string.
struct StringArray {
    std::vector<std::int64_t> shape;
    std::vector<std::string> values;
};

/// scipy.sparse csr_matrix / csc_matrix, arrays in their stored dtypes.
struct SparseArray {
    enum class Format { csr, csc } format = Format::csr;
    std::int64_t n_rows = 0, n_cols = 0;
    NdArray data, indices, indptr;
};

/// pandas.Categorical: codes (-1 = missing) into categories.
struct Categorical {
    NdArray codes;
    std::variant<StringArray, NdArray> categories;
    bool ordered = false;
    [[nodiscard]] std::int64_t n_categories() const;
    /// Category label i as text (numbers formatted as anndata's repr would not be; used for reports).
    [[nodiscard]] std::string category_label(std::int64_t i) const;
};

/// Nullable arrays: pandas Int*/UInt*, boolean and string extension arrays.
struct NullableArray {
    enum class Kind { integer, boolean, string } kind = Kind::integer;
    NdArray values;               ///< integer / boolean kinds
    StringArray strings;          ///< string kind
    std::vector<std::uint8_t> mask; ///< 1 = missing
    [[nodiscard]] std::int64_t size() const;
};

/// numpy structured ("record") array, as scanpy stores rank_genes_groups results.
/// Each field is a column of shape {n} (or {n, k} for a sub-array field).
struct RecordArray {
    std::int64_t n = 0;
    std::vector<std::pair<std::string, std::variant<NdArray, StringArray>>> fields;
};

struct Element;

/// An ordered mapping ("dict" encoding): uns, obsm, layers, ...
struct Mapping {
    std::vector<std::pair<std::string, Element>> items;
    // Special members out of line (anndata.cpp), where Element is complete: clang 14 with
    // libstdc++ 12 (the fuzz build) instantiates the vector's destructor here otherwise.
    Mapping();
    ~Mapping();
    Mapping(const Mapping&);
    Mapping(Mapping&&) noexcept;
    Mapping& operator=(const Mapping&);
    Mapping& operator=(Mapping&&) noexcept;
    [[nodiscard]] const Element* find(const std::string& key) const;
    Element* find(const std::string& key);
    /// Inserts or replaces @p key, keeping the position of an existing key.
    void set(std::string key, Element value);
    [[nodiscard]] bool contains(const std::string& key) const { return find(key) != nullptr; }
};

/// A dataframe column.
using Column = std::variant<NdArray, StringArray, Categorical, NullableArray>;

/// pandas.DataFrame as anndata stores obs and var.
struct DataFrame {
    std::string index_name = "_index"; ///< dataset holding the index (the `_index` attribute)
    std::vector<std::string> index;
    std::vector<std::pair<std::string, Column>> columns; ///< in column-order
    [[nodiscard]] std::int64_t n_rows() const { return static_cast<std::int64_t>(index.size()); }
    [[nodiscard]] const Column* find(const std::string& name) const;
    /// Inserts or replaces a column.
    void set(std::string name, Column c);
};

/// Any element an AnnData file can hold.
struct Element {
    std::variant<NdArray, StringArray, SparseArray, Categorical, NullableArray, DataFrame, Mapping, RecordArray> value;
};

/// raw: a frozen earlier X with its own var.
struct RawData {
    std::optional<std::variant<NdArray, SparseArray>> X;
    DataFrame var;
    Mapping varm;
};

/// Which writer produced a file, as far as its layout tells.
enum class H5adLayout {
    modern,     ///< anndata >= 0.8: encoding-type on every element, root "anndata"
    legacy_07,  ///< anndata 0.7: no root encoding, `__categories` groups with object references
    legacy_06   ///< anndata <= 0.6: h5sparse groups, compound obs/var datasets
};

/// The whole object. X is optional (AnnData allows X=None).
struct AnnData {
    std::int64_t n_obs = 0;
    std::int64_t n_vars = 0;
    std::optional<std::variant<NdArray, SparseArray>> X;
    DataFrame obs, var;
    Mapping obsm, varm, obsp, varp, layers, uns;
    std::optional<RawData> raw;
    H5adLayout layout = H5adLayout::modern;
};

/// The kind of a column as a user would name it: "categorical", "numeric", "bool",
/// "string", "nullable-integer", "nullable-boolean", "nullable-string".
std::string column_kind(const Column& c);
/// Number of rows of a column.
std::int64_t column_size(const Column& c);

/// Converts a dense 2-D NdArray or a sparse matrix to float32 CSR (values cast, zeros dropped
/// for dense input). @p what names the element in error messages.
CsrMatrix to_csr_f32(const std::variant<NdArray, SparseArray>& m, const std::string& what);
/// Wraps a CSR matrix as a float32 / int32 / int64 csr_matrix element.
SparseArray from_csr(const CsrMatrix& m);

/// Rows @p rows of a column, in that order (categoricals keep their categories).
Column take_rows(const Column& c, const std::vector<std::int64_t>& rows);

/// Labels of a string or categorical column (categorical missing -> empty string).
/// Throws if the column is neither. @p what names the column in errors.
std::vector<std::string> column_as_strings(const Column& c, const std::string& what);

} // namespace scx
