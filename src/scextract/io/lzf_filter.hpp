#pragma once
/// @file lzf_filter.hpp
/// @brief Decoding of h5py's LZF filter (HDF5 filter id 32000) through Debian's liblzf.
///
/// h5py writes LZF with a filter compiled into h5py itself, so plain libhdf5
/// cannot read such files (older anndata and scvi-tools files use it). We
/// register a decoder so they load like any other file.

namespace scx::h5 {

/// HDF5 filter id h5py assigned to LZF.
inline constexpr int lzf_filter_id = 32000;

/// Registers the LZF decoder with libhdf5 unless a filter with its id is registered
/// (idempotent, thread-safe).
void register_lzf_filter();

} // namespace scx::h5
