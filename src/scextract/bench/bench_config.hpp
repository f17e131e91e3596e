#pragma once
/// @file bench_config.hpp
/// @brief The `scextract bench` configuration (bench.json, docs/cli.md): the cells, the
/// splits and endpoints, and the methods to run, each a plug-in built by make_bench_method().

#include "scextract/bench/bench_method.hpp"
#include "scextract/bench/bench_runner.hpp"
#include "scextract/preprocess/input_values.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace scx {

/// Where the cells come from: a file, or a simulation made in memory.
struct BenchDataSpec {
    std::string path;                          ///< .h5ad / 10x / CSV, relative paths against the config's folder
    std::string label_key = "cell_type", donor_key = "donor";
    std::optional<std::string> tissue_key;     ///< absent: one tissue
    std::string layer, gene_column;
    bool raw = false;
    InputValuesOptions input;                  ///< input_kind, input_target_sum: counts or log-normalised
    std::string label_map;                     ///< TSV label -> ruler stage (relative to the config's folder)
    /// With no donor column (donor_key "none") or one donor: folds of cells standing in for
    /// donors (stats/cell_folds.hpp), at least 2.
    std::int64_t cell_folds = 10;
    /// When set instead of a path: `scextract simulate` with these settings
    /// (keys: cells, donors, genes, seed, null).
    std::optional<nlohmann::ordered_json> simulate;
};

/// One method entry of the config: its type, its name in tables and its parameters.
struct BenchMethodSpec {
    std::string type; ///< "algorithm", "raw", "pca", "svd", "celltypist"
    std::string name; ///< defaults to a per-type name
    nlohmann::ordered_json params;
};

struct BenchConfig {
    std::string path, folder;                  ///< the config file and the folder relative paths start from
    nlohmann::ordered_json json;               ///< as given
    BenchDataSpec data;
    std::string ruler = "default";             ///< "default" or a ruler JSON path
    std::optional<std::string> panel_from;     ///< operator file whose panel all methods share
    std::int64_t panel_size = 1200;            ///< otherwise: this many HVGs
    BenchOptions options;                      ///< splits, endpoints, reference, fdr, figures
    /// `"compression_chain": true`: the report adds the compression-chain table (size and
    /// significant losses of every method against the reference, bench_report_chain.hpp) and
    /// the bench folder gets compression_chain.tsv.
    bool compression_chain = false;
    std::vector<BenchMethodSpec> methods;
};

/// Reads and checks a config. Throws scx::Error naming the file and the JSON path of the
/// problem (unknown keys included, so a typo is not silently ignored).
BenchConfig read_bench_config(const std::string& path);

/// Builds every method of @p config, in config order; an operator file named by several
/// methods is read once. Throws scx::Error naming the method on a bad parameter.
std::vector<std::unique_ptr<BenchMethod>> make_bench_methods(const BenchConfig& config, const BenchCells& cells);

/// A config path made absolute against the config's folder.
std::string bench_config_path(const BenchConfig& config, const std::string& path);

} // namespace scx
