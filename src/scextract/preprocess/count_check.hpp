#pragma once
/// @file count_check.hpp
/// @brief What kind of values a matrix holds (raw counts, log-normalised, scaled),
/// and guards that stop a method from running on the wrong kind.
///
/// seurat_v3 HVGs and normalize_total + log1p want raw counts; the seurat flavour
/// wants log-normalised values. Users often pass the wrong layer, so the checks
/// name what was found and what to use instead.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/row_block_reader.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace scx {

/// The kind of values a matrix appears to hold.
enum class ValueKind {
    empty,          ///< no non-zero value is stored
    counts,         ///< non-negative integers
    log_normalized, ///< non-negative, non-integer, max below InspectValuesOptions::log_max
    normalized,     ///< non-negative, non-integer, not logged (large values or constant row sums)
    scaled,         ///< negative values present (centred / scaled data)
    non_finite,     ///< NaN or infinity present
};

/// Name of a ValueKind ("counts", "log_normalized", ...).
const char* value_kind_name(ValueKind kind);

/// Options of inspect_values().
struct InspectValuesOptions {
    /// A log1p of normalised counts stays far below this (log1p(1e6) is 13.8).
    double log_max = 20.0;
    /// Largest relative spread (max - min) / max of per-cell sums still called constant.
    double constant_sum_tolerance = 1e-3;
    /// Rows per block when reading from a RowBlockReader.
    std::int64_t block_rows = 4096;
    /// Threads; <= 0 means all available. Results do not depend on it.
    int threads = 0;
};

/// Summary of the stored values of a cells x genes matrix.
struct MatrixValueReport {
    std::int64_t n_rows = 0;
    std::int64_t n_cols = 0;
    std::int64_t n_stored = 0;      ///< stored entries (explicit zeros included)
    std::int64_t n_negative = 0;    ///< stored values < 0
    std::int64_t n_non_integer = 0; ///< finite stored values with a fractional part
    std::int64_t n_non_finite = 0;  ///< NaN or +-inf
    double min_value = 0.0;         ///< smallest finite stored value (0 when none)
    double max_value = 0.0;         ///< largest finite stored value (0 when none)
    /// Over cells with a non-zero total: smallest and largest per-cell sum of the values,
    /// and of expm1(values). Constant sums of expm1 are the fingerprint of
    /// log1p(normalize_total(x)) over all genes; constant plain sums of normalize_total alone.
    double row_sum_min = 0.0, row_sum_max = 0.0;
    /// Over the rows holding a non-integer value (0 when none): only those can be log data.
    double expm1_row_sum_min = 0.0, expm1_row_sum_max = 0.0;
    bool row_sums_constant = false;
    bool expm1_row_sums_constant = false;
    ValueKind kind = ValueKind::empty;

    [[nodiscard]] bool is_counts() const { return kind == ValueKind::counts; }
    [[nodiscard]] bool looks_log_normalized() const { return kind == ValueKind::log_normalized; }
    [[nodiscard]] bool has_negative() const { return n_negative > 0; }
    /// One clause for messages, e.g. "non-negative integer counts (max 259)".
    [[nodiscard]] std::string describe() const;
};

/// Inspects every stored value of @p x.
MatrixValueReport inspect_values(const CsrMatrix& x, const InspectValuesOptions& options = {});

/// Inspects a matrix block by block, in bounded memory.
MatrixValueReport inspect_values(RowBlockReader& reader, const InspectValuesOptions& options = {});

/// Throws scx::Error unless @p report describes raw counts (an empty matrix passes).
/// @p what names the matrix ("pbmc.h5ad X"); @p suggestion is appended and should
/// tell the user where counts are, e.g. "use --layer counts (layers: counts, lognorm) or --use-raw".
void require_counts(const MatrixValueReport& report, std::string_view what, std::string_view suggestion);

/// Throws scx::Error if @p report says the values are already log-normalised, scaled
/// or non-finite: log-normalising them again would be silently wrong.
void require_log_normalizable(const MatrixValueReport& report, std::string_view what, std::string_view suggestion);

/// Throws scx::Error unless @p report describes log-normalised values (what the
/// seurat HVG flavour and most embeddings expect).
void require_log_normalized(const MatrixValueReport& report, std::string_view what, std::string_view suggestion);

} // namespace scx
