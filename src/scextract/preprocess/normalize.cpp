#include "scextract/preprocess/normalize.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kRowChunk = 1024;

void check_target(double target_sum) {
    if (!std::isfinite(target_sum) || target_sum <= 0.0)
        throw Error(fmt::format("normalize_total: target_sum must be a positive finite number, got {}", target_sum));
}

// scanpy: X / (float32(total) / target) in float32, with a zero factor replaced by 1.
void scale_row(std::span<float> values, float total, float target) {
    float factor = total / target;
    if (factor == 0.0f) factor = 1.0f;
    for (float& v : values) v = v / factor;
}

std::span<float> row_span(CsrMatrix& x, std::int64_t r) {
    return {x.values.data() + x.indptr[r], static_cast<std::size_t>(x.indptr[r + 1] - x.indptr[r])};
}

// numpy's median of a float32 array: the middle value, or the float32 mean of the two middle values.
float float32_median(std::vector<float> v) {
    if (v.empty()) return 0.0f;
    const std::size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    const float upper = v[mid];
    if (v.size() % 2 == 1) return upper;
    const float lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
    return (lower + upper) / 2.0f;
}

} // namespace

float cell_total(std::span<const float> row_values) {
    double sum = 0.0;
    for (float v : row_values) sum += static_cast<double>(v);
    return static_cast<float>(sum);
}

NormalizeTotalResult normalize_total_in_place(CsrMatrix& x, const NormalizeTotalOptions& options) {
    if (options.target_sum) check_target(*options.target_sum);
    NormalizeTotalResult result;
    result.cell_totals.resize(static_cast<std::size_t>(x.n_rows));
    parallel_for(x.n_rows, kRowChunk, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) result.cell_totals[r] = cell_total(x.row_values(r));
    });
    // A median target is itself a float32 in scanpy; a given target is cast to float32 by numpy.
    const float target =
        options.target_sum ? static_cast<float>(*options.target_sum) : float32_median(result.cell_totals);
    result.target_sum = target;
    parallel_for(x.n_rows, kRowChunk, options.threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) scale_row(row_span(x, r), result.cell_totals[r], target);
    });
    return result;
}

CsrMatrix normalize_total(const CsrMatrix& x, const NormalizeTotalOptions& options) {
    CsrMatrix out = x;
    normalize_total_in_place(out, options);
    return out;
}

void normalize_rows_in_place(CsrMatrix& block, double target_sum, int threads) {
    check_target(target_sum);
    const float target = static_cast<float>(target_sum);
    parallel_for(block.n_rows, kRowChunk, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
            scale_row(row_span(block, r), cell_total(block.row_values(r)), target);
    });
}

void log1p_in_place(CsrMatrix& x, int threads) {
    constexpr std::int64_t kValueChunk = 1 << 16;
    parallel_for(x.nnz(), kValueChunk, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t k = begin; k < end; ++k) x.values[k] = std::log1p(x.values[k]);
    });
}

CsrMatrix log1p(const CsrMatrix& x, int threads) {
    CsrMatrix out = x;
    log1p_in_place(out, threads);
    return out;
}

void log_normalize_rows_in_place(CsrMatrix& block, double target_sum, int threads) {
    normalize_rows_in_place(block, target_sum, threads);
    log1p_in_place(block, threads);
}

} // namespace scx
