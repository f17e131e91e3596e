#pragma once
/// @file h5ad_annotation_writer.hpp
/// @brief Writing per-cell results into a copy of an existing .h5ad a block of cells at a
/// time, so annotating a million cells never holds a million cells' results in memory.

#include "scextract/core/dense.hpp"
#include "scextract/io/anndata.hpp"
#include "scextract/io/h5ad_writer.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// Starts from a byte copy of a current-encoding (anndata >= 0.8) @p input in a temporary
/// file beside @p output, so everything scextract does not model survives untouched, as with
/// write_h5ad_with_additions(). New obs columns (numeric, or categorical 0.2.0 with categories
/// known up front) and obsm matrices are declared first, then filled block by block in row
/// order; uns entries are written whole. A column or obsm entry of the same name as an
/// existing one replaces it, and obs's column-order lists the new columns. commit() checks
/// that every declared element received all rows and renames the file into place; a writer
/// destroyed without commit() (an exception on the way) removes its temporary file, so a
/// failed run leaves no partial output. Not thread-safe (HDF5 calls are serialised by the caller).
class H5adAnnotationWriter {
public:
    /// Copies @p input; refuses output == input and anndata <= 0.7 inputs.
    H5adAnnotationWriter(const std::string& input, const std::string& output, const H5adWriteOptions& options = {});
    ~H5adAnnotationWriter();
    H5adAnnotationWriter(const H5adAnnotationWriter&) = delete;
    H5adAnnotationWriter& operator=(const H5adAnnotationWriter&) = delete;

    /// Cells of the input (the length of obs's index).
    [[nodiscard]] std::int64_t n_obs() const;

    /// Declares a numeric obs column of @p dtype (float64, float32 or bool), filled by write_obs().
    void add_obs_numeric(const std::string& name, DType dtype = DType::float64);
    /// Declares a categorical obs column (int32 codes, -1 = missing), filled by write_obs_codes().
    void add_obs_categorical(const std::string& name, const std::vector<std::string>& categories, bool ordered = false);
    /// Declares a float32 obsm matrix of n_obs() x @p n_cols, filled by write_obsm().
    void add_obsm(const std::string& name, std::int64_t n_cols);
    /// Adds or replaces the top-level uns entry @p key.
    void set_uns(const std::string& key, const Element& value);

    /// Rows [first_row, first_row + values.size()) of a numeric column; blocks arrive in row order.
    void write_obs(const std::string& name, std::int64_t first_row, std::span<const double> values);
    void write_obs(const std::string& name, std::int64_t first_row, std::span<const float> values);
    /// Category codes of rows [first_row, first_row + codes.size()) of a categorical column.
    void write_obs_codes(const std::string& name, std::int64_t first_row, std::span<const std::int32_t> codes);
    /// Rows of a declared obs column given as a Column: a 1-D float NdArray for a numeric
    /// column, a Categorical (its codes; the same categories as declared) for a categorical one.
    void write_obs(const std::string& name, std::int64_t first_row, const Column& rows);
    /// Rows [first_row, first_row + rows.rows()) of an obsm matrix.
    void write_obsm(const std::string& name, std::int64_t first_row, const RowMatrixF& rows);

    /// Checks every declared element is complete, flushes and renames the file into place.
    void commit();

private:
    struct State;
    std::unique_ptr<State> s_;
};

} // namespace scx
