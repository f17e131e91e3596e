#pragma once
/// @file fit.hpp
/// @brief Fitting an algorithm file (.scx) from an operator file (.scxop) and reference
/// cells: features, standardiser, adaptor and readouts, with how it was made recorded in
/// the file. The CLI's `fit` and the Python package's `scx.fit` are this header.

#include "scextract/api/input_cells.hpp"
#include "scextract/core/messages.hpp"
#include "scextract/extract/compress.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <cstdint>
#include <string>

namespace scx {

/// Options of fit_file(). Defaults are the CLI's.
struct FitFileOptions {
    std::string operator_file;        ///< .scxop from export
    ReferenceCellsOptions reference;  ///< the cells, their matrix and obs keys
    std::string ruler = "default";    ///< ruler JSON file, or "default" (hematopoiesis)
    std::string label_map;            ///< TSV label -> stage added to the ruler (io/label_map.hpp); empty: none
    std::string out;                  ///< .scx to write (atomically)
    FeatureSpec features;             ///< which features of the operators (the drift of head 2:5 by default)
    std::string variant = "cell";     ///< adaptor: anchor, cell or hybrid
    std::int64_t k = 10;              ///< latent dimension
    double alpha = -1;                ///< reconstruction weight; < 0: the variant's
    std::int64_t epochs = -1;         ///< adaptor epochs; <= 0: the variant's
    std::uint64_t seed = 42;
    int threads = 0;                  ///< 0: all cores; results do not depend on it
};

/// What fit_file() did, beside the file it wrote.
struct FitFileResult {
    AlgorithmFitResult fit;           ///< the algorithm and its fit summary
    std::string features;             ///< description of the feature operator
    double operator_mb = 0;           ///< size of the feature operator
    double seconds = 0;
};

/// Reads the operators and the reference cells, fits, records provenance and writes
/// options.out. Missing panel genes and labels off the ruler are warned on @p messages.
FitFileResult fit_file(const FitFileOptions& options, const MessageSink& messages = {});

} // namespace scx
