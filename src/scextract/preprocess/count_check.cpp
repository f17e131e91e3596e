#include "scextract/preprocess/count_check.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kRowChunk = 512;

// Running totals over some rows; merged in row order, every field is order-independent.
struct Tally {
    std::int64_t n_stored = 0, n_negative = 0, n_non_integer = 0, n_non_finite = 0, n_nonzero = 0;
    double min_value = std::numeric_limits<double>::infinity();
    double max_value = -std::numeric_limits<double>::infinity();
    double row_sum_min = std::numeric_limits<double>::infinity(), row_sum_max = 0.0;
    double expm1_sum_min = std::numeric_limits<double>::infinity(), expm1_sum_max = 0.0;

    void merge(const Tally& o) {
        n_stored += o.n_stored;
        n_negative += o.n_negative;
        n_non_integer += o.n_non_integer;
        n_non_finite += o.n_non_finite;
        n_nonzero += o.n_nonzero;
        min_value = std::min(min_value, o.min_value);
        max_value = std::max(max_value, o.max_value);
        row_sum_min = std::min(row_sum_min, o.row_sum_min);
        row_sum_max = std::max(row_sum_max, o.row_sum_max);
        expm1_sum_min = std::min(expm1_sum_min, o.expm1_sum_min);
        expm1_sum_max = std::max(expm1_sum_max, o.expm1_sum_max);
    }
    /// One row's sum; empty and all-zero rows do not count.
    void add_row_sum(double sum) {
        if (sum <= 0.0) return;
        row_sum_min = std::min(row_sum_min, sum);
        row_sum_max = std::max(row_sum_max, sum);
    }
};

/// The usual row, count data: when every value is an integer in [0, 2^23), tallies it in one
/// pass over integers and returns true; the integer sum is exact, so it equals the general
/// loop's sum in double. Otherwise tallies nothing and returns false. The range test works
/// on the bits (below 2^23's pattern: non-negative, finite, not -0) and selects with a mask,
/// so the loop has no branches and the compiler vectorises it.
bool tally_count_row(std::span<const float> vals, Tally& t) {
    constexpr std::uint32_t kAllIntegers = 0x4B000000u; // 2^23: every float from here up is an integer
    std::uint32_t other = 0;
    std::int64_t sum = 0, nonzero = 0;
    std::int32_t lo = std::numeric_limits<std::int32_t>::max(), hi = 0;
    for (const float f : vals) {
        const auto bits = std::bit_cast<std::uint32_t>(f);
        const std::uint32_t in_range = bits < kAllIntegers;
        const auto small = std::bit_cast<float>(bits & (0u - in_range)); // f, or 0 when out of range
        const auto i = static_cast<std::int32_t>(small);
        other |= (1u - in_range) | static_cast<std::uint32_t>(static_cast<float>(i) != small);
        sum += i;
        nonzero += i != 0;
        lo = std::min(lo, i);
        hi = std::max(hi, i);
    }
    if (other != 0) return false;
    t.n_stored += static_cast<std::int64_t>(vals.size());
    t.n_nonzero += nonzero;
    if (!vals.empty()) {
        t.min_value = std::min(t.min_value, static_cast<double>(lo));
        t.max_value = std::max(t.max_value, static_cast<double>(hi));
    }
    t.add_row_sum(static_cast<double>(sum));
    return true;
}

void tally_rows(const CsrMatrix& x, std::int64_t begin, std::int64_t end, Tally& t) {
    for (std::int64_t r = begin; r < end; ++r) {
        if (tally_count_row(x.row_values(r), t)) continue;
        double sum = 0.0;
        const auto non_integer_before = t.n_non_integer;
        for (float f : x.row_values(r)) {
            const double v = f;
            ++t.n_stored;
            if (!std::isfinite(v)) {
                ++t.n_non_finite;
                continue;
            }
            if (v != 0.0) ++t.n_nonzero;
            if (v < 0.0) ++t.n_negative;
            if (v != std::floor(v)) ++t.n_non_integer;
            t.min_value = std::min(t.min_value, v);
            t.max_value = std::max(t.max_value, v);
            sum += v;
        }
        t.add_row_sum(sum);
        // expm1 sums only tell log-normalised rows apart, and a row of integers is not one:
        // skipping them keeps the per-block check of `apply` cheap on counts.
        if (sum > 0.0 && t.n_non_integer > non_integer_before) {
            double expm1_sum = 0.0;
            for (float f : x.row_values(r))
                if (std::isfinite(f)) expm1_sum += std::expm1(static_cast<double>(f));
            t.expm1_sum_min = std::min(t.expm1_sum_min, expm1_sum);
            t.expm1_sum_max = std::max(t.expm1_sum_max, expm1_sum);
        }
    }
}

Tally tally_block(const CsrMatrix& x, int threads) {
    std::vector<Tally> parts(static_cast<std::size_t>(chunk_count(x.n_rows, kRowChunk)));
    parallel_for(x.n_rows, kRowChunk, threads,
                 [&](std::int64_t c, std::int64_t begin, std::int64_t end) { tally_rows(x, begin, end, parts[c]); });
    Tally total;
    for (const auto& p : parts) total.merge(p);
    return total;
}

bool constant(double lo, double hi, double tolerance) {
    return hi > 0.0 && (hi - lo) <= tolerance * hi;
}

MatrixValueReport finish(const Tally& t, std::int64_t n_rows, std::int64_t n_cols, const InspectValuesOptions& opt) {
    MatrixValueReport r;
    r.n_rows = n_rows;
    r.n_cols = n_cols;
    r.n_stored = t.n_stored;
    r.n_negative = t.n_negative;
    r.n_non_integer = t.n_non_integer;
    r.n_non_finite = t.n_non_finite;
    if (t.n_stored > t.n_non_finite) {
        r.min_value = t.min_value;
        r.max_value = t.max_value;
    }
    if (t.row_sum_max > 0.0) {
        r.row_sum_min = t.row_sum_min;
        r.row_sum_max = t.row_sum_max;
        const bool any_expm1 = t.expm1_sum_min <= t.expm1_sum_max;
        r.expm1_row_sum_min = any_expm1 ? t.expm1_sum_min : 0.0;
        r.expm1_row_sum_max = any_expm1 ? t.expm1_sum_max : 0.0;
        // A single cell says nothing about constancy.
        const bool several = n_rows > 1;
        r.row_sums_constant = several && constant(r.row_sum_min, r.row_sum_max, opt.constant_sum_tolerance);
        r.expm1_row_sums_constant =
            several && constant(r.expm1_row_sum_min, r.expm1_row_sum_max, opt.constant_sum_tolerance);
    }
    if (t.n_non_finite > 0)
        r.kind = ValueKind::non_finite;
    else if (t.n_negative > 0)
        r.kind = ValueKind::scaled;
    else if (t.n_nonzero == 0)
        r.kind = ValueKind::empty;
    else if (t.n_non_integer == 0)
        r.kind = ValueKind::counts;
    else if (r.row_sums_constant && !r.expm1_row_sums_constant)
        r.kind = ValueKind::normalized;
    else if (r.max_value < opt.log_max)
        r.kind = ValueKind::log_normalized;
    else
        r.kind = ValueKind::normalized;
    return r;
}

void check_options(const InspectValuesOptions& opt) {
    if (!(opt.log_max > 0.0)) throw Error(fmt::format("inspect_values: log_max must be positive, got {}", opt.log_max));
    if (!(opt.constant_sum_tolerance >= 0.0))
        throw Error(
            fmt::format("inspect_values: constant_sum_tolerance must be >= 0, got {}", opt.constant_sum_tolerance));
}

} // namespace

const char* value_kind_name(ValueKind kind) {
    switch (kind) {
    case ValueKind::empty:
        return "empty";
    case ValueKind::counts:
        return "counts";
    case ValueKind::log_normalized:
        return "log_normalized";
    case ValueKind::normalized:
        return "normalized";
    case ValueKind::scaled:
        return "scaled";
    case ValueKind::non_finite:
        return "non_finite";
    }
    return "unknown";
}

std::string MatrixValueReport::describe() const {
    switch (kind) {
    case ValueKind::empty:
        return "no non-zero values";
    case ValueKind::counts:
        return fmt::format("non-negative integer counts (max {:g})", max_value);
    case ValueKind::log_normalized:
        return fmt::format("log-normalised values ({} non-integer, max {:.4g}{})", n_non_integer, max_value,
                           expm1_row_sums_constant
                               ? fmt::format(", per-cell expm1 sums constant at {:.6g}", expm1_row_sum_max)
                               : std::string());
    case ValueKind::normalized:
        return fmt::format("normalised but not logged values ({} non-integer, max {:.6g}{})", n_non_integer, max_value,
                           row_sums_constant ? fmt::format(", per-cell sums constant at {:.6g}", row_sum_max)
                                             : std::string());
    case ValueKind::scaled:
        return fmt::format("scaled values ({} negative, min {:.4g}, max {:.4g})", n_negative, min_value, max_value);
    case ValueKind::non_finite:
        return fmt::format("{} NaN or infinite values", n_non_finite);
    }
    return "values of unknown kind";
}

MatrixValueReport inspect_values(const CsrMatrix& x, const InspectValuesOptions& options) {
    check_options(options);
    return finish(tally_block(x, options.threads), x.n_rows, x.n_cols, options);
}

MatrixValueReport inspect_values(RowBlockReader& reader, const InspectValuesOptions& options) {
    check_options(options);
    if (options.block_rows <= 0)
        throw Error(fmt::format("inspect_values: block_rows must be positive, got {}", options.block_rows));
    Tally total;
    for (std::int64_t begin = 0; begin < reader.n_rows(); begin += options.block_rows) {
        const std::int64_t end = std::min(reader.n_rows(), begin + options.block_rows);
        total.merge(tally_block(reader.read_rows(begin, end), options.threads));
    }
    return finish(total, reader.n_rows(), reader.n_cols(), options);
}

namespace {

std::string with_suggestion(std::string message, std::string_view suggestion) {
    if (!suggestion.empty()) message += fmt::format("; {}", suggestion);
    return message;
}

} // namespace

void require_counts(const MatrixValueReport& report, std::string_view what, std::string_view suggestion) {
    if (report.kind == ValueKind::counts || report.kind == ValueKind::empty) return;
    throw Error(with_suggestion(
        fmt::format("{}: expected raw counts (non-negative integers) but found {}", what, report.describe()),
        suggestion));
}

void require_log_normalizable(const MatrixValueReport& report, std::string_view what, std::string_view suggestion) {
    switch (report.kind) {
    case ValueKind::log_normalized:
        throw Error(
            with_suggestion(fmt::format("{}: refusing to log-normalise values that already look log-normalised: {}",
                                        what, report.describe()),
                            suggestion));
    case ValueKind::scaled:
    case ValueKind::non_finite:
        throw Error(with_suggestion(fmt::format("{}: cannot log-normalise {}", what, report.describe()), suggestion));
    default:
        return;
    }
}

void require_log_normalized(const MatrixValueReport& report, std::string_view what, std::string_view suggestion) {
    if (report.kind == ValueKind::log_normalized || report.kind == ValueKind::empty) return;
    throw Error(with_suggestion(fmt::format("{}: expected log-normalised values but found {}", what, report.describe()),
                                suggestion));
}

} // namespace scx
