#pragma once
/// @file tenx.hpp
/// @brief 10x Genomics Cell Ranger outputs: MatrixMarket folders and HDF5 files.

#include "scextract/io/dataset.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace scx {

/// Reads a Cell Ranger MatrixMarket folder: matrix.mtx[.gz] (coordinate, integer,
/// real or pattern, general; genes x cells, 1-based), features.tsv[.gz] (v3: id,
/// name, feature_type) or genes.tsv[.gz] (v2: id, name) and barcodes.tsv[.gz].
/// A gzipped file is preferred when both forms are present.
///
/// The result is cells x genes with column indices sorted within each row; an
/// entry given twice is an error (scipy would silently add them up). As in
/// scanpy.read_10x_mtx(): var_names are the symbols (column 2) made unique over
/// all features with make_index_unique(), var gets gene_ids (column 1) and, for
/// v3, feature_types (column 3); then, when options.gene_expression_only is set,
/// only "Gene Expression" features are kept.
///
/// Errors name the file and, for text problems, the line.
Dataset read_10x_mtx(const std::string& folder, const DatasetReadOptions& options = {});

/// Reads a Cell Ranger HDF5 matrix. The v3 layout (group "matrix" with
/// data/indices/indptr/shape/barcodes and features/{id,name,feature_type,...})
/// stores genes x cells CSC, which is exactly cells x genes CSR. The v2 layout
/// (one group per genome with genes/gene_names) is read when it holds a single genome.
///
/// var follows scanpy.read_10x_h5(): gene_ids, feature_types and the other 1-D
/// feature datasets (e.g. genome) as columns; probe-barcode matrices (features/gene_id)
/// also get probe_ids. After the "Gene Expression" filter the symbols are made
/// unique with make_index_unique(), as `adata.var_names_make_unique()` would.
Dataset read_10x_h5(const std::string& path, const DatasetReadOptions& options = {});

/// anndata's make_index_unique (used by var_names_make_unique): the first
/// occurrence of a name is kept; each later duplicate gets @p join and the next
/// number counted per name ("-1", "-2", ...), skipping numbers whose result is
/// already a name. E.g. {a, a, b, a-1, a} -> {a, a-2, b, a-1, a-3}.
std::vector<std::string> make_index_unique(std::vector<std::string> names, std::string_view join = "-");

} // namespace scx
