#pragma once
/// @file training_data.hpp
/// @brief The reference-cell options `fit` and `scan-heads` share, and reading them.

#include "scextract/cli/command.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <memory>
#include <string>

namespace scx::cli {

struct TrainingArgs {
    std::string train, label_key = "cell_type", donor_key = "donor", tissue_key, layer, gene_column;
    bool raw = false;
};

/// obs[@p key] of @p d as strings; a usage error naming @p option and listing the obs
/// columns when the column is absent.
std::vector<std::string> obs_strings(const Dataset& d, const std::string& key, const std::string& input, const char* option);

/// Adds --train (or @p input_option), --label-key, --donor-key, --tissue-key, --layer, --raw,
/// --gene-column.
void add_training_options(CLI::App* app, TrainingArgs& args, const std::string& input_option = "--train");

/// The dataset and the per-cell annotations; data.counts points into dataset.
struct TrainingInput {
    Dataset dataset;
    AlgorithmTrainingData data;
};

/// Reads the reference cells, checks they are counts and collects symbols, labels,
/// donors and tissues (usage error naming the obs columns when a key is absent).
std::unique_ptr<TrainingInput> read_training_input(const TrainingArgs& args, const Console& console);

} // namespace scx::cli
