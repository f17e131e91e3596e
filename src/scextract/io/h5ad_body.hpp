#pragma once
/// @file h5ad_body.hpp
/// @brief Internal to io/: writes an AnnData's elements into an open HDF5 file, for the
/// writers that add their own parts (the streaming writer adds X block by block; the
/// annotation writer adds obs columns to a copy), and the h5ad plumbing they share.

#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/hdf5.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace scx {

/// Writes the root encoding and every element of @p ad (X only when set) into @p file.
void write_h5ad_body(hid_t file, const AnnData& ad, const H5adWriteOptions& options);

/// Writes one element, with anndata's encoding attributes, as @p name under @p parent.
void write_h5ad_element(hid_t parent, const std::string& name, const Element& e, const H5adWriteOptions& options);

/// Copies a current-encoding (anndata >= 0.8) @p input byte for byte to @p temp_path and
/// makes the copy writable, for writers that amend a copy. Refuses an anndata <= 0.7 input,
/// whose layout cannot be amended in place.
void copy_h5ad_for_amending(const std::string& input, const std::filesystem::path& temp_path);
/// copy_h5ad_for_amending()'s check alone: refuses an anndata <= 0.7 @p input.
void refuse_old_anndata_layout(const std::string& input);
/// copy_h5ad_for_amending()'s copy alone. No HDF5 call, so it may run beside one on another thread.
void copy_file_bytes(const std::string& input, const std::filesystem::path& temp_path);

/// Opens the dataframe group @p name of @p file to receive @p columns: refuses a name that is
/// the index, removes existing columns of those names and appends new names to column-order.
/// The caller then writes the columns into the returned group.
h5::Handle open_dataframe_for_columns(hid_t file, const char* name, const std::vector<std::string>& columns);

/// Adds or replaces entries of the top-level mapping group @p name (created when absent).
void amend_h5ad_mapping(hid_t file, const char* name, const Mapping& m, const H5adWriteOptions& options);

/// Rows of the dataframe @p name ("obs", "var") from the length of its index, reading nothing else.
std::int64_t h5ad_dataframe_rows(hid_t file, const char* name);

} // namespace scx
