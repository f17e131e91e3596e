#pragma once
/// @file h5ad_writer.hpp
/// @brief Writing .h5ad files in anndata's current on-disk encoding, atomically.

#include "scextract/io/anndata.hpp"

#include <string>
#include <utility>
#include <vector>

namespace scx {

struct H5adWriteOptions {
    int gzip_level = 4; ///< gzip level for arrays (0 = uncompressed), as anndata's compression="gzip"
    /// H5adAnnotationWriter: threads compressing the streamed rows (0: all); the file's bytes
    /// do not depend on it
    int threads = 0;
};

/// Writes @p ad to @p path (anndata >= 0.8 encoding: root "anndata" 0.1.0,
/// dataframe 0.2.0, csr_matrix 0.1.0, categorical 0.2.0, ...). Data goes to a
/// temporary file beside @p path, renamed over it only when complete.
void write_h5ad(const AnnData& ad, const std::string& path, const H5adWriteOptions& options = {});

/// Results to add to a copy of an existing file.
struct H5adAdditions {
    std::vector<std::pair<std::string, Column>> obs_columns; ///< added or replaced in obs
    std::vector<std::pair<std::string, Column>> var_columns; ///< added or replaced in var
    Mapping obsm;                                           ///< added or replaced obsm entries
    Mapping uns;                                            ///< added or replaced top-level uns entries
};

/// Applies @p additions to an object in memory (inserting or replacing entries).
void apply_additions(AnnData& ad, const H5adAdditions& additions);

/// Writes a copy of @p input with @p additions to @p output; the input is never
/// modified. A current-encoding input is copied byte for byte and then amended,
/// so everything scextract does not model survives untouched; an anndata <= 0.7
/// input is read and rewritten in the current encoding. Refuses output == input.
void write_h5ad_with_additions(const std::string& input, const std::string& output, const H5adAdditions& additions,
                               const H5adWriteOptions& options = {});

} // namespace scx
