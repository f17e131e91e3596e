#pragma once
/// @file feature_options.hpp
/// @brief The feature-operator options `compress` and `fit` share.

#include "scextract/extract/compress.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace scx::cli {

struct FeatureArgs {
    std::string variant = "drift", head = "2:5", heads, orientation = "xA";
    std::int64_t rank = 64, factors = 16, top_genes = 60;
};

/// Adds --features, --head, --heads, --rank, --factors, --top-genes, --orientation.
void add_feature_options(CLI::App* app, FeatureArgs& args);

/// The FeatureSpec the options describe (usage errors for malformed heads).
FeatureSpec feature_spec(const FeatureArgs& args);

} // namespace scx::cli
