#pragma once
/// @file input_values.hpp
/// @brief What the input matrix holds (raw counts or log-normalised values) and turning it
/// into what the method starts from.
///
/// Most published .h5ad files hold log1p(normalize_total(counts, T)) instead of counts. The
/// method only ever uses counts through normalize_total + log1p (METHOD.md, cell feature),
/// and for such data expm1(x) is exactly the per-cell normalised matrix counts / total * T:
/// normalize_total rescales it to any target as it would the counts. That is recovered,
/// after checking the claim on the data (every cell's expm1 sum is the same T). Scaled or
/// centred values, or log values whose expm1 sums differ between cells (the file kept only
/// some genes, or another transform), cannot be turned back, and are refused.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/preprocess/count_check.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace scx {

/// What the user says the input holds.
enum class InputKind {
    detect,  ///< decide from the values (counts if integers, lognorm if log1p(normalize_total))
    counts,  ///< raw counts
    lognorm, ///< log1p of per-cell normalised counts at a target sum
};

/// "detect", "counts" or "lognorm".
const char* input_kind_name(InputKind kind);

/// Parses an input kind name; throws UsageError naming @p option otherwise.
InputKind parse_input_kind(std::string_view name, std::string_view option = "--input-kind");

/// Options of resolve_input_values().
struct InputValuesOptions {
    InputKind kind = InputKind::detect;
    /// lognorm: the target sum the values were normalised to (1e4 in scanpy's and Seurat's
    /// usual call). Empty: read it from the data (the common per-cell sum of expm1).
    std::optional<double> target_sum;
    /// Largest relative spread of the per-cell expm1 sums still taken as one target sum
    /// (float32 storage of log values leaves about 1e-6).
    double tolerance = 1e-3;
};

/// What was found and what the method will read.
struct InputValues {
    InputKind kind = InputKind::counts; ///< counts or lognorm, never detect
    bool detected = false;              ///< the kind came from the values, not from the user
    double target_sum = 0.0;            ///< lognorm: the per-cell sum of expm1(values)
    MatrixValueReport values;           ///< the stored values, as read

    /// True when the matrix holds per-cell normalised values (expm1 of log-normalised
    /// input) rather than counts: raw-count methods (seurat_v3 HVGs, scVI) cannot run.
    [[nodiscard]] bool normalized() const { return kind == InputKind::lognorm; }
    /// One line for the terminal, e.g. "pbmc.h5ad X: log-normalised (detected): log1p of
    /// counts normalised to 10000 per cell; the method reads expm1(X)".
    [[nodiscard]] std::string describe(std::string_view what) const;
};

/// Decides what @p report describes under @p options, without changing anything. Throws
/// scx::Error naming @p what, the values found and @p hint (where else counts might be) when
/// the matrix holds neither counts nor recoverable log-normalised values, or not what the
/// user stated.
InputValues resolve_input_values(const MatrixValueReport& report, const InputValuesOptions& options, std::string_view what,
                                 std::string_view hint);

/// Checks one more block of a matrix already resolved to @p resolved (the streamed apply
/// reads blocks one at a time): the same kind and, for lognorm, the same target sum.
void check_input_block(const MatrixValueReport& block, const InputValues& resolved, const InputValuesOptions& options,
                       std::string_view what);

/// Makes @p x what the method reads: unchanged for counts; expm1 of every stored value for
/// log-normalised input (float32, as the values are stored).
void to_method_values_in_place(CsrMatrix& x, const InputValues& resolved, int threads = 0);

} // namespace scx
