#pragma once
/// @file lr_ruler.hpp
/// @brief `scextract ruler build-lr` as a library call: a ligand-receptor interaction-path
/// ruler over the cell types of a data set (preprocess/lr_ruler.hpp defines the distance),
/// written as a ruler file (docs/formats.md) that `fit`, `validate` and the rest take.

#include "scextract/core/messages.hpp"
#include "scextract/preprocess/lr_ruler.hpp"

#include <cstdint>
#include <string>

namespace scx {

/// Options of build_lr_ruler_file(); defaults are the CLI's.
struct BuildLrRulerOptions {
    std::string data;                 ///< cells (.h5ad, 10x, CSV); counts or any matrix whose zeros are non-detections
    std::string label_key = "cell_type";
    std::string layer;                ///< read this layer instead of X
    bool raw = false;                 ///< read raw.X
    std::string gene_column;          ///< var column with symbols (empty: automatic)
    std::string resource;             ///< ligand-receptor TSV (io/lr_resource.hpp), e.g. data/lr/cellphonedb_v4_human.tsv
    LrRulerOptions ruler;             ///< threshold, min cells, branches, name
    std::string out;                  ///< ruler JSON to write (atomically)
};

/// Reads the cells and the resource, builds the ruler and writes it. Notes (pairs found,
/// types left out) go to @p messages. Throws scx::Error with one line naming the problem on a
/// malformed resource, a missing label column, or a ruler that cannot be built; nothing is
/// written then.
LrRulerResult build_lr_ruler_file(const BuildLrRulerOptions& options, const MessageSink& messages = {});

} // namespace scx
