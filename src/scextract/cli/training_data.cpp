#include "scextract/cli/training_data.hpp"

#include "scextract/cli/input_matrix.hpp"
#include "scextract/core/error.hpp"
#include "scextract/preprocess/count_check.hpp"

#include <fmt/format.h>

namespace scx::cli {

std::vector<std::string> obs_strings(const Dataset& d, const std::string& key, const std::string& input, const char* option) {
    const Column* c = d.obs.find(key);
    if (c == nullptr) {
        std::vector<std::string> names;
        for (const auto& [n, _] : d.obs.columns) names.push_back(n);
        throw UsageError(fmt::format("{}: obs has no column '{}' ({}); obs columns: {}", input, key, option,
                                     fmt::join(names, ", ")));
    }
    return column_as_strings(*c, fmt::format("{} obs['{}']", input, key));
}

void add_training_options(CLI::App* app, TrainingArgs& a, const std::string& input_option) {
    app->add_option(input_option, a.train, "reference cells (.h5ad, 10x, CSV) with raw counts")->required();
    app->add_option("--label-key", a.label_key, "obs column with cell-type labels")->capture_default_str();
    app->add_option("--donor-key", a.donor_key, "obs column with donors")->capture_default_str();
    app->add_option("--tissue-key", a.tissue_key, "obs column with tissues (anchors are donor x tissue x cell type)");
    auto* layer = app->add_option("--layer", a.layer, "take counts from this layer instead of X");
    app->add_flag("--raw", a.raw, "take counts from raw.X")->excludes(layer);
    app->add_option("--gene-column", a.gene_column, "var column with gene symbols (default: automatic)");
}

std::unique_ptr<TrainingInput> read_training_input(const TrainingArgs& a, const Console& console) {
    auto in = std::make_unique<TrainingInput>();
    in->dataset = read_dataset(a.train, {.layer = a.layer, .use_raw = a.raw});
    const auto& d = in->dataset;
    const auto values = inspect_values(d.matrix, {.threads = console.threads()});
    require_counts(values, fmt::format("{} {}", a.train, d.matrix_source), counts_hint(d, a.layer, a.raw));
    in->data.counts = &in->dataset.matrix;
    in->data.symbols = dataset_gene_symbols(d, a.train, a.gene_column, console);
    in->data.labels = obs_strings(d, a.label_key, a.train, "--label-key");
    in->data.donors = obs_strings(d, a.donor_key, a.train, "--donor-key");
    if (!a.tissue_key.empty()) in->data.tissues = obs_strings(d, a.tissue_key, a.train, "--tissue-key");
    return in;
}

} // namespace scx::cli
