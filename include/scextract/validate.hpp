#pragma once
/// @file validate.hpp
/// @brief Validating a manifold from an operator or algorithm file on labelled cells:
/// trustworthiness, geodesic-ruler correlation, holdout gates, the blocked permutation test
/// and the dimension sweep, beside three controls (a null simulation shaped like the data,
/// label lookup and a null ruler). The CLI's `validate` is this header.

#include "scextract/api/input_cells.hpp"
#include "scextract/core/messages.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/extract/compress.hpp"
#include "scextract/validate/validation_report.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scx {

/// Options of validate_file(). Defaults are the CLI's (METHOD.md's where it states one).
struct ValidateFileOptions {
    std::string operator_file;      ///< operators (.scxop): the adaptor is fitted on the data; or
    std::string algorithm;          ///< an algorithm (.scx): its features and fit settings
    bool held_out = false;          ///< the data was not used to fit the algorithm: its adaptor is used frozen
    ReferenceCellsOptions data;     ///< the labelled cells
    std::string ruler = "default";  ///< ruler JSON file, or "default"
    std::string label_map;          ///< TSV label -> stage added to the ruler (io/label_map.hpp); empty: none
    std::string out;                ///< results JSON to write (atomically)
    FeatureSpec features;           ///< with operator_file: which features
    std::int64_t k = 10;            ///< latent dimension
    double alpha = 0.1;             ///< reconstruction weight of the adaptor
    std::int64_t epochs = -1;       ///< Adam steps of every fit but the permutations' (<= 0: 400)
    std::int64_t permutation_epochs = 100;
    std::int64_t permutations = 2000;  ///< METHOD.md: >= 2,000
    std::int64_t max_cells = 2000;     ///< cells subsampled for trustworthiness and geodesics
    std::vector<std::int64_t> dimensions = {3, 6, 10};
    std::int64_t null_cells = 5000;    ///< cells of the null simulation (at most the data's)
    bool controls = true;              ///< run the three controls
    /// How the geometry is fitted: "let" (the adaptor, above) or, for the second manifold,
    /// "isomap" / "mds" (validate/geometry_validation.hpp: the anchors embedded without the
    /// ruler, a k x seed sweep, plus the PCA margin gate). k, alpha, epochs, max_cells and
    /// dimensions belong to "let" only.
    std::string geometry = "let";
    std::vector<std::int64_t> neighbors = {10, 15, 20};    ///< isomap / mds: the k sweep
    std::vector<std::uint64_t> geometry_seeds = {42, 43, 44}; ///< isomap / mds: the seed sweep
    std::int64_t geometry_dimensions = 2;                  ///< isomap / mds: embedding and PCA dimensions
    double pca_margin = 0.0;                               ///< isomap / mds: the margin gate
    std::uint64_t seed = 42;
    int threads = 0;
    /// Makes a progress bar for each run (labelled "data", "null simulation", ...); may be empty.
    std::function<std::unique_ptr<ProgressBar>(const std::string& label)> progress_bar;
};

struct ValidateFileResult {
    std::vector<ValidationRun> runs;  ///< geometry "let": the data first, then the controls
    std::vector<GeometryRun> geometry_runs; ///< geometry "isomap" / "mds": the same runs
    bool passed = false;              ///< the data's verdict
    std::vector<std::string> failures; ///< the data's failures, in words
    nlohmann::ordered_json json;      ///< what was written to options.out
    std::string summary_table;        ///< metrics x runs, as `validate` prints it
};

/// Runs the validation and its controls and writes options.out. Notes, and warnings (a
/// permutation count that cannot reach the gate, a control that passes too), go to
/// @p messages. Throws scx::Error / UsageError on bad input.
ValidateFileResult validate_file(const ValidateFileOptions& options, const MessageSink& messages = {});

} // namespace scx
