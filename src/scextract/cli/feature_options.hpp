#pragma once
/// @file feature_options.hpp
/// @brief The feature-operator options `compress` and `fit` share.

#include "scextract/api/feature_choice.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace scx::cli {

using FeatureArgs = FeatureChoice;

/// Adds --features, --head, --heads, --rank, --factors, --top-genes, --orientation.
void add_feature_options(CLI::App* app, FeatureArgs& args);

using scx::feature_spec;

} // namespace scx::cli
