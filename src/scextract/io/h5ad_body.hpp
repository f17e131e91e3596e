#pragma once
/// @file h5ad_body.hpp
/// @brief Internal to io/: writes an AnnData's elements into an open HDF5 file, for the
/// writers that add their own parts (the streaming writer adds X block by block).

#include "scextract/io/h5ad_writer.hpp"
#include "scextract/io/hdf5.hpp"

namespace scx {

/// Writes the root encoding and every element of @p ad (X only when set) into @p file.
void write_h5ad_body(hid_t file, const AnnData& ad, const H5adWriteOptions& options);

} // namespace scx
