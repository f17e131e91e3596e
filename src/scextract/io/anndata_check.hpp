#pragma once
/// @file anndata_check.hpp
/// @brief The one structural check of an AnnData object, shared by every reader and
/// every writer: what `apply` refuses, `convert` refuses too, and nothing scextract
/// writes crashes scipy or is refused by anndata / pandas.

#include "scextract/io/anndata.hpp"

#include <cstdint>
#include <string>

namespace scx {

/// Throws scx::Error "WHAT: problem" unless @p s is a sparse matrix scipy accepts:
/// integer indices and indptr, indptr sized major + 1, starting at 0, never decreasing
/// and ending at nnz, and every index inside the minor axis. @p what names the element
/// ("pbmc.h5ad: X").
void check_sparse_array(const SparseArray& s, const std::string& what);

/// Throws unless @p c has @p n_rows rows and is well formed: categorical codes are
/// integers in [-1, number of categories) and the categories are unique (pandas refuses
/// duplicates); a nullable array's mask has one entry per value.
void check_column(const Column& c, std::int64_t n_rows, const std::string& what);

/// Every element of @p ad: obs / var sizes and columns, X, layers, obsm / varm / obsp /
/// varp along their axes, raw, and every sparse matrix, categorical and dataframe nested
/// in uns. @p file prefixes each message ("pbmc.h5ad: obs/cell_type/codes: ...").
/// @p obs_loaded false skips the obs-size check (a reader asked to leave obs unread).
void check_anndata(const AnnData& ad, const std::string& file, bool obs_loaded = true);

} // namespace scx
