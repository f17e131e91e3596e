#pragma once
/// @file dataset.hpp
/// @brief One reader interface for every input format: h5ad, 10x MatrixMarket
/// folders, 10x HDF5 and dense CSV. The format is chosen by inspecting the path.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/io/anndata.hpp"

#include <string>
#include <vector>

namespace scx {

/// Which matrix of an h5ad file to use, and which genes.
struct DatasetReadOptions {
    /// Use layers[layer] instead of X (empty: X).
    std::string layer;
    /// Use raw.X (and raw.var for gene names) instead of X.
    bool use_raw = false;
    /// 10x inputs: keep only "Gene Expression" features (scanpy's gex_only=True).
    bool gene_expression_only = true;
    /// h5ad only: read var and the matrix's shape but not its entries, nor obs (matrix has
    /// n_rows and n_cols and nothing else; obs and obs_names stay empty), for callers that
    /// stream the matrix with H5adRowReader. Other formats ignore it and read everything.
    bool metadata_only = false;
};

/// A cells x genes matrix with its names and metadata, as every reader produces it.
struct Dataset {
    CsrMatrix matrix;                    ///< cells x genes, float32
    std::vector<std::string> obs_names;  ///< cell barcodes / names
    std::vector<std::string> var_names;  ///< gene identifiers as stored (symbols or Ensembl ids)
    DataFrame obs;                       ///< cell metadata (index = obs_names)
    DataFrame var;                       ///< gene metadata (index = var_names), e.g. gene_ids, feature_types
    std::string format;                  ///< "h5ad", "10x-mtx", "10x-h5" or "csv"
    std::string matrix_source;           ///< e.g. "X", "layers/counts", "raw/X", "matrix.mtx.gz"
    std::vector<std::string> layer_names; ///< h5ad: the layers present (for error messages)
    bool has_raw = false;                 ///< h5ad: whether raw.X exists
};

/// Input formats read_dataset() understands.
enum class InputFormat { h5ad, tenx_mtx, tenx_h5, csv };

/// Decides the format from the path: a directory is a 10x MatrixMarket folder;
/// an HDF5 file with a top-level "matrix" group is 10x HDF5, otherwise h5ad;
/// .csv / .csv.gz / .tsv / .tsv.gz is dense CSV. Throws naming the path otherwise.
InputFormat detect_input_format(const std::string& path);

/// Reads any supported input into a Dataset.
Dataset read_dataset(const std::string& path, const DatasetReadOptions& options = {});

/// Wraps a Dataset as an AnnData object (X = the matrix as float32 CSR).
AnnData dataset_to_anndata(Dataset d);

struct H5adAdditions;
struct H5adWriteOptions;

/// Writes @p d with @p additions to @p output as .h5ad: for an .h5ad input a copy of
/// @p input with the additions (write_h5ad_with_additions, so everything else is
/// kept); for other formats the Dataset itself with the additions.
void write_dataset_with_additions(const std::string& input, Dataset d, const std::string& output,
                                  const H5adAdditions& additions);

/// Reads any supported input as a whole AnnData object: an .h5ad file with all
/// its elements, other formats through read_dataset().
AnnData read_as_anndata(const std::string& path, std::vector<std::string>* warnings = nullptr);

} // namespace scx
