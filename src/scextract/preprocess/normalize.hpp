#pragma once
/// @file normalize.hpp
/// @brief Library-size normalisation and log1p, as scanpy.pp.normalize_total / log1p.
///
/// Values match scanpy 1.11.5 on float32 CSR input bit for bit: the per-cell total
/// is summed in double and rounded to float32, the scale factor total / target_sum
/// and every scaled value are float32 divisions, and log1p is the float32 log1p of
/// the C library (the one numpy calls on machines without AVX-512).

#include "scextract/core/csr_matrix.hpp"

#include <optional>
#include <span>
#include <vector>

namespace scx {

/// Options of normalize_total().
struct NormalizeTotalOptions {
    /// Total every cell is scaled to. 1e4 by default (scanpy's usual choice). Empty:
    /// the median of the per-cell totals, as scanpy's target_sum=None on CSR input
    /// (the median over all cells, cells with zero counts included).
    std::optional<double> target_sum = 1e4;
    /// Threads; <= 0 means all available. Results do not depend on it.
    int threads = 0;
};

/// What normalize_total() did.
struct NormalizeTotalResult {
    std::vector<float> cell_totals; ///< sum of each cell's stored values before scaling (float32, like scanpy)
    double target_sum = 0.0;        ///< the total each non-empty cell now sums to
};

/// Scales each row of @p x in place so that it sums to the target. Rows whose
/// total is zero are left unchanged (scanpy divides them by 1).
NormalizeTotalResult normalize_total_in_place(CsrMatrix& x, const NormalizeTotalOptions& options = {});

/// normalize_total_in_place() on a copy.
CsrMatrix normalize_total(const CsrMatrix& x, const NormalizeTotalOptions& options = {});

/// Per-cell total as scanpy computes it: summed in double, rounded to float32.
float cell_total(std::span<const float> row_values);

/// Streaming form of normalize_total with a fixed @p target_sum: each row of a
/// block (for example from a RowBlockReader) is scaled independently, so blocks
/// can be normalised one at a time with results identical to the whole matrix.
void normalize_rows_in_place(CsrMatrix& block, double target_sum, int threads = 0);

/// Natural log1p of every stored value, in place (zeros stay zero).
void log1p_in_place(CsrMatrix& x, int threads = 0);

/// log1p_in_place() on a copy.
CsrMatrix log1p(const CsrMatrix& x, int threads = 0);

/// normalize_rows_in_place() followed by log1p_in_place(): scanpy's
/// normalize_total(target_sum) + log1p, one row block at a time.
void log_normalize_rows_in_place(CsrMatrix& block, double target_sum, int threads = 0);

} // namespace scx
