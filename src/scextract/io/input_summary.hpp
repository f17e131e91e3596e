#pragma once
/// @file input_summary.hpp
/// @brief What `scextract inspect` reports about an input: shapes, encodings,
/// dataframe columns with their kinds and category counts, and element keys.

#include <nlohmann/json.hpp>

#include <string>

namespace scx {

struct InputSummaryOptions {
    /// Categories are listed with counts only up to this many per column.
    int max_categories_listed = 200;
};

/// Summarises any input read_dataset() understands. For .h5ad files the large
/// matrices are described from their storage without being loaded. The result
/// is JSON with keys in a stable order (schema in docs/cli.md); format_input_summary() renders it as text.
nlohmann::ordered_json summarize_input(const std::string& path, const InputSummaryOptions& options = {});

/// Human-readable rendering of summarize_input()'s result.
std::string format_input_summary(const nlohmann::ordered_json& summary);

} // namespace scx
