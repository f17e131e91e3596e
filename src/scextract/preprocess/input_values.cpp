#include "scextract/preprocess/input_values.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <cmath>

#include <fmt/format.h>

namespace scx {

namespace {

std::string with_hint(std::string message, std::string_view hint) {
    if (!hint.empty()) message += fmt::format("; {}", hint);
    return message;
}

/// The per-cell expm1 sums are one value within the tolerance (a single cell counts as one).
bool one_target(const MatrixValueReport& r, double tolerance) {
    return r.expm1_row_sum_max > 0.0 && (r.expm1_row_sum_max - r.expm1_row_sum_min) <= tolerance * r.expm1_row_sum_max;
}

bool near(double value, double target, double tolerance) { return std::abs(value - target) <= tolerance * target; }

/// Throws unless @p r holds log1p(normalize_total) values (at @p stated, when given).
double require_lognorm(const MatrixValueReport& r, std::optional<double> stated, double tolerance, std::string_view what,
                       std::string_view hint) {
    switch (r.kind) {
    case ValueKind::scaled:
        throw Error(with_hint(fmt::format("{}: holds {}: scaled or centred values cannot be turned back into expression "
                                          "(scextract needs raw counts or log1p(normalize_total) values)",
                                          what, r.describe()),
                              hint));
    case ValueKind::non_finite:
        throw Error(fmt::format("{}: holds {}", what, r.describe()));
    case ValueKind::normalized:
        throw Error(with_hint(fmt::format("{}: holds {}: normalised but not logged; give raw counts, or the log1p of these "
                                          "values with --input-kind lognorm",
                                          what, r.describe()),
                              hint));
    case ValueKind::counts:
        throw Error(with_hint(fmt::format("{}: --input-kind lognorm, but it holds {}; use --input-kind counts", what,
                                          r.describe()),
                              hint));
    default:
        break;
    }
    if (!one_target(r, tolerance))
        throw Error(with_hint(
            fmt::format("{}: looks log-normalised (max {:.4g}) but the per-cell sums of expm1 range from {:.6g} to "
                        "{:.6g}, so it is not log1p(normalize_total) over these genes (genes dropped after normalising, "
                        "or another transform); the normalised values cannot be recovered exactly",
                        what, r.max_value, r.expm1_row_sum_min, r.expm1_row_sum_max),
            hint));
    const double found = r.expm1_row_sum_max;
    if (stated && !near(found, *stated, tolerance))
        throw Error(fmt::format("{}: --target-sum {:g} was stated, but every cell's expm1 sum is {:.6g}", what, *stated,
                                found));
    return stated ? *stated : found;
}

} // namespace

const char* input_kind_name(InputKind kind) {
    switch (kind) {
    case InputKind::detect:
        return "detect";
    case InputKind::counts:
        return "counts";
    case InputKind::lognorm:
        return "lognorm";
    }
    return "unknown";
}

InputKind parse_input_kind(std::string_view name, std::string_view option) {
    if (name == "detect") return InputKind::detect;
    if (name == "counts") return InputKind::counts;
    if (name == "lognorm") return InputKind::lognorm;
    throw UsageError(fmt::format("{}: expected detect, counts or lognorm, got '{}'", option, name));
}

std::string InputValues::describe(std::string_view what) const {
    const char* how = detected ? "detected" : "as stated";
    if (kind == InputKind::counts) return fmt::format("{}: raw counts ({}; {})", what, how, values.describe());
    return fmt::format("{}: log-normalised ({}; {}): log1p of counts normalised to {:g} per cell; the method reads "
                       "expm1 of it, which normalize_total rescales exactly as it would the counts",
                       what, how, values.describe(), target_sum);
}

InputValues resolve_input_values(const MatrixValueReport& report, const InputValuesOptions& options, std::string_view what,
                                 std::string_view hint) {
    if (options.target_sum && !(*options.target_sum > 0.0 && std::isfinite(*options.target_sum)))
        throw UsageError(fmt::format("--target-sum must be a positive number, got {}", *options.target_sum));
    if (options.target_sum && options.kind == InputKind::counts)
        throw UsageError("--target-sum describes log-normalised input; it cannot go with --input-kind counts");
    InputValues v;
    v.values = report;
    v.detected = options.kind == InputKind::detect;
    if (report.kind == ValueKind::non_finite) throw Error(fmt::format("{}: holds {}", what, report.describe()));
    const bool want_lognorm =
        options.kind == InputKind::lognorm ||
        (options.kind == InputKind::detect && report.kind != ValueKind::counts && report.kind != ValueKind::empty);
    if (!want_lognorm || report.kind == ValueKind::empty) {
        require_counts(report, what, hint);
        v.kind = InputKind::counts;
        return v;
    }
    v.kind = InputKind::lognorm;
    v.target_sum = require_lognorm(report, options.target_sum, options.tolerance, what, hint);
    return v;
}

void check_input_block(const MatrixValueReport& block, const InputValues& resolved, const InputValuesOptions& options,
                       std::string_view what) {
    if (block.kind == ValueKind::empty) return;
    if (resolved.kind == InputKind::counts) {
        require_counts(block, what, "an earlier block held counts");
        return;
    }
    if (block.kind == ValueKind::counts) return; // integer rows carry no expm1 sum to check
    const double t = require_lognorm(block, std::nullopt, options.tolerance, what, "");
    if (!near(t, resolved.target_sum, options.tolerance))
        throw Error(fmt::format("{}: these cells' expm1 sums are {:.6g}, earlier cells' {:.6g}: not one normalisation",
                                what, t, resolved.target_sum));
}

void to_method_values_in_place(CsrMatrix& x, const InputValues& resolved, int threads) {
    if (resolved.kind != InputKind::lognorm) return;
    auto& values = x.values;
    const auto n = static_cast<std::int64_t>(values.size());
    parallel_for(n, 1 << 16, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (auto i = begin; i < end; ++i) values[static_cast<std::size_t>(i)] = std::expm1(values[static_cast<std::size_t>(i)]);
    });
}

} // namespace scx
