/// @file inspect.cpp
/// @brief inspect_path(): the io/ summaries, plus what kind of values an input's matrices
/// hold (preprocess/count_check.hpp, which io/ may not include).

#include "scextract/inspect.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/input_summary.hpp"
#include "scextract/io/scx_summary.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/preprocess/count_check.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace scx {

namespace {

using Json = nlohmann::ordered_json;

/// Cells a value verdict reads: enough to tell counts from log-normalised or scaled data,
/// few enough that inspect stays quick on a million-cell file.
constexpr std::int64_t kValueSampleCells = 20000;

/// The verdict on one matrix, with the evidence inspect_values() found.
Json value_verdict(const MatrixValueReport& r, std::int64_t total_cells) {
    Json j;
    j["kind"] = value_kind_name(r.kind);
    j["cells_read"] = r.n_rows;
    j["cells"] = total_cells;
    j["max"] = r.max_value;
    j["min"] = r.min_value;
    j["non_integer"] = r.n_non_integer;
    j["negative"] = r.n_negative;
    j["row_sums_constant"] = r.row_sums_constant;
    j["expm1_row_sums_constant"] = r.expm1_row_sums_constant;
    if (r.row_sums_constant) j["row_sum"] = r.row_sum_max;
    if (r.expm1_row_sums_constant) j["expm1_row_sum"] = r.expm1_row_sum_max;
    std::string v;
    switch (r.kind) {
    case ValueKind::empty: v = "empty (no non-zero value stored)"; break;
    case ValueKind::counts: v = fmt::format("counts (non-negative integers, max {:g})", r.max_value); break;
    case ValueKind::log_normalized:
        v = r.expm1_row_sums_constant
                ? fmt::format("log-normalised (non-integer, max {:.3g}, expm1 row sums constant at {:.6g} -> "
                              "log1p(normalize_total(target_sum={:g})))",
                              r.max_value, r.expm1_row_sum_max, r.expm1_row_sum_max)
                : fmt::format("log-normalised (non-integer, max {:.3g} < {:g}; expm1 row sums {:.4g}-{:.4g}, not constant: "
                              "log1p of data normalised over other genes, or a gene subset)",
                              r.max_value, InspectValuesOptions{}.log_max, r.expm1_row_sum_min, r.expm1_row_sum_max);
        break;
    case ValueKind::normalized:
        v = r.row_sums_constant ? fmt::format("normalised, not logged (non-integer, max {:.4g}, row sums constant at {:.6g} "
                                              "-> normalize_total(target_sum={:g}))",
                                              r.max_value, r.row_sum_max, r.row_sum_max)
                                : fmt::format("normalised, not logged (non-integer, max {:.4g})", r.max_value);
        break;
    case ValueKind::scaled:
        v = fmt::format("scaled (centred: {} negative values, min {:.3g}, max {:.3g}) -> not counts", r.n_negative,
                        r.min_value, r.max_value);
        break;
    case ValueKind::non_finite: v = fmt::format("not finite ({} NaN or infinite values)", r.n_non_finite); break;
    }
    if (r.n_rows < total_cells) v += fmt::format(" [first {} of {} cells]", r.n_rows, total_cells);
    j["verdict"] = v;
    return j;
}

/// The first kValueSampleCells rows of @p where in an .h5ad; a note instead when they
/// cannot be read a block at a time (anndata <= 0.7 dense layouts, say).
Json h5ad_values(const std::string& path, const H5adMatrixLocation& where) {
    try {
        H5adRowReader reader(path, where);
        const auto n = reader.n_rows();
        return value_verdict(inspect_values(reader.read_rows(0, std::min(n, kValueSampleCells))), n);
    } catch (const Error& e) {
        return Json{{"kind", "unknown"}, {"verdict", fmt::format("not checked ({})", e.what())}};
    }
}

/// "values": X, each layer and raw.X of an input, each with a one-line verdict.
Json input_values(const std::string& path, const Json& summary) {
    Json v = Json::object();
    if (detect_input_format(path) != InputFormat::h5ad) {
        const auto d = read_dataset(path);
        v["X"] = value_verdict(inspect_values(d.matrix), d.matrix.n_rows);
        return v;
    }
    if (summary.contains("X") && !summary["X"].is_null()) v["X"] = h5ad_values(path, {});
    if (summary.contains("layers"))
        for (const auto& [k, _] : summary["layers"].items()) v["layers/" + k] = h5ad_values(path, {.layer = k});
    if (summary.contains("raw") && summary["raw"].is_object() && !summary["raw"]["X"].is_null())
        v["raw.X"] = h5ad_values(path, {.layer = "", .use_raw = true});
    return v;
}

} // namespace

InspectResult inspect_path(const std::string& path) {
    InspectResult r;
    if (is_scx_file(path)) {
        r.kind = "scx";
        r.summary = summarize_scx_file(path);
        r.text = format_scx_summary(r.summary);
    } else if (is_checkpoint_path(path)) {
        r.kind = "checkpoint";
        r.summary = summarize_checkpoint(path);
        r.text = format_checkpoint_summary(r.summary);
    } else {
        r.kind = "input";
        r.summary = summarize_input(path);
        r.text = format_input_summary(r.summary);
        r.summary["values"] = input_values(path, r.summary);
        r.text += "  values (what each matrix holds):\n";
        for (const auto& [k, v] : r.summary["values"].items())
            r.text += fmt::format("    {}: {}\n", k, v["verdict"].get<std::string>());
    }
    return r;
}

} // namespace scx
