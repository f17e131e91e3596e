#pragma once
/// @file hdf5.hpp
/// @brief Thin RAII and error-reporting layer over the HDF5 C library, used only inside io/.
///
/// Every failure becomes an scx::Error naming the file, the object path and the
/// HDF5 error stack's own words. HDF5 calls are not thread-safe in Debian's
/// serial build: callers serialise them and parallelise after reading.

#include "scextract/io/anndata.hpp"

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace scx::h5 {

/// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
public:
    Handle() = default;
    explicit Handle(hid_t id) : id_(id) {}
    Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
    Handle& operator=(Handle&& o) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }
    void reset();
    [[nodiscard]] hid_t get() const { return id_; }
    operator hid_t() const { return id_; } // NOLINT: handles pass straight into H5 calls
    [[nodiscard]] bool valid() const { return id_ >= 0; }

private:
    hid_t id_ = H5I_INVALID_HID;
};

/// Silences HDF5 automatic stderr printing (we report errors ourselves) and registers
/// the LZF decoder. Idempotent; every entry point calls it.
void init_hdf5();
/// The current HDF5 error stack as one line ("major: minor" of the innermost frames).
std::string error_stack();

/// Opens an existing file read-only, with clear errors for a missing file, a file
/// that is not HDF5 and a truncated or damaged one.
Handle open_file_read(const std::string& path);
/// Opens an existing file read-write (used on a private copy, never an input).
Handle open_file_rw(const std::string& path);
/// Opens an HDF5 file image held in memory, read-only (core driver, no backing store);
/// @p name names it in messages. The image is copied, so it need not outlive the handle.
Handle open_file_image(std::span<const std::byte> image, const std::string& name);
/// Creates (truncates) a file.
Handle create_file(const std::string& path);

/// The file name of any object, for messages.
std::string file_name(hid_t obj);
/// The object's full path inside its file ("/obs/cell_type").
std::string object_path(hid_t obj);
/// "file.h5ad:/obs/cell_type"-style label for messages.
std::string where(hid_t obj);

bool link_exists(hid_t loc, const std::string& name);
bool is_group(hid_t loc, const std::string& name);
bool is_dataset(hid_t loc, const std::string& name);
Handle open_group(hid_t loc, const std::string& name);
Handle open_dataset(hid_t loc, const std::string& name);
Handle create_group(hid_t loc, const std::string& name);
/// Removes a link if present (space is reclaimed when the file is repacked; we
/// only do this on copies).
void unlink_if_exists(hid_t loc, const std::string& name);
/// Child names of a group in creation order when tracked, otherwise name order.
std::vector<std::string> children(hid_t group);

bool has_attr(hid_t obj, const std::string& name);
/// String attribute (variable or fixed length, scalar or 1-element array).
std::optional<std::string> read_string_attr(hid_t obj, const std::string& name);
std::vector<std::string> read_string_array_attr(hid_t obj, const std::string& name);
std::vector<std::int64_t> read_int_array_attr(hid_t obj, const std::string& name);
std::optional<bool> read_bool_attr(hid_t obj, const std::string& name);
/// True when the attribute is an HDF5 object reference (anndata 0.7 categories).
bool attr_is_reference(hid_t obj, const std::string& name);
/// Opens the object an object-reference attribute points to.
Handle deref_attr(hid_t obj, const std::string& name);

void write_string_attr(hid_t obj, const std::string& name, const std::string& value);
void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_int_array_attr(hid_t obj, const std::string& name, const std::vector<std::int64_t>& values);
void write_bool_attr(hid_t obj, const std::string& name, bool value);
/// Writes encoding-type and encoding-version.
void write_encoding(hid_t obj, const std::string& type, const std::string& version);

/// HDF5 memory type for a dtype (bool_ is numpy's enum of int8).
hid_t native_type(DType t);
/// Stored dtype of a numeric dataset; throws for strings, compounds and other classes.
DType dataset_dtype(hid_t dset);
/// True if the dataset holds strings (variable or fixed length).
bool dataset_is_string(hid_t dset);
std::vector<std::int64_t> dataset_shape(hid_t dset);

/// Throws an error naming the filter (e.g. LZF, id 32000) if a dataset needs a
/// filter this HDF5 library lacks.
void check_filters(hid_t dset);

/// Best compression ratio a dataset may claim (stored bytes against its declared size):
/// deflate cannot exceed 1032:1 and LZF far less, so a larger ratio means chunks that were
/// never written (fill values) or a damaged size, never real data.
inline constexpr double kMaxCompressionRatio = 1100;
/// Declared sizes below this are never questioned (a small dataset of fill values is harmless).
/// Kept small: a 50 KB file declaring a million variable-length strings (16 MB of heap ids)
/// once made the reader use 500 MB.
inline constexpr std::uint64_t kUncheckedDatasetBytes = std::uint64_t{1} << 20;

/// Refuses a dataset whose declared size (elements x stored element size) is implausible for
/// what the file stores: more than kMaxCompressionRatio times its storage when chunked, more
/// than its storage when contiguous, counting storage only up to the file's size
/// ("FILE:/X declares 80.0 GB but stores 1.2 kB; ..."). Call before allocating anything
/// proportional to the dataset's shape, even when it will be streamed.
void check_stored_size(hid_t dset);
/// check_stored_size() plus a check of @p mem_bytes, the memory a whole read takes, against
/// physical memory (core/memory.hpp's check_fits_in_memory).
void check_read_size(hid_t dset, std::uint64_t mem_bytes);

/// Reads a whole numeric dataset in its stored dtype.
NdArray read_ndarray(hid_t dset);
/// Reads a whole string dataset.
StringArray read_strings(hid_t dset);
/// The last inflated chunk of one dataset, kept between sequential read_range()
/// calls so a chunk that straddles two row blocks is inflated once.
struct ChunkCache {
    std::int64_t chunk = -1;
    std::vector<std::byte> bytes;
};

/// Reads [offset, offset + count) of a 1-D dataset into @p out, converting to the memory type of T.
/// Large ranges of gzip datasets are inflated in parallel (see hdf5.cpp); @p cache, when
/// given, must belong to this dataset alone.
template <class T> void read_range(hid_t dset, std::int64_t offset, std::int64_t count, T* out, ChunkCache* cache = nullptr);
/// Reads rows [row, row + n_rows) of a 2-D dataset into @p out (row-major), converted to T.
template <class T> void read_rows_2d(hid_t dset, std::int64_t row, std::int64_t n_rows, T* out);

/// Reads a 1-D compound (numpy structured) dataset field by field. String
/// fields may be fixed or variable length; numeric fields may be sub-arrays.
RecordArray read_compound(hid_t dset);

/// Dataset creation settings for writing.
struct WriteSettings {
    int gzip_level = 4;          ///< 0 = no compression
    std::int64_t chunk_elems = 1 << 16; ///< target elements per chunk (1-D)
};
void write_ndarray(hid_t loc, const std::string& name, const NdArray& a, const WriteSettings& s);
/// Creates a numeric dataset of @p shape with write_ndarray()'s chunking and compression but
/// writes nothing: the rows arrive later through write_rows() (streamed outputs).
Handle create_ndarray_dataset(hid_t loc, const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                              const WriteSettings& s);
/// Writes rows [row, row + n_rows) along the first axis of an N-D dataset from @p data
/// (C order, the remaining axes whole), converting from the memory type of T.
template <class T> void write_rows(hid_t dset, std::int64_t row, std::int64_t n_rows, const T* data);
void write_strings(hid_t loc, const std::string& name, const StringArray& a, const WriteSettings& s);

/// Writes the rows of a dataset of @p dtype along its first axis in row order, a block at a
/// time. A dataset chunked by whole rows whose only filter is deflate (what
/// create_ndarray_dataset() makes) has its whole chunks compressed on up to @p threads threads
/// (libdeflate, in the zlib format HDF5's deflate filter stores) and stored directly, in chunk
/// order, so the file's bytes do not depend on the thread count; rows short of a chunk wait
/// for the next block or for finish(), which stores the last chunk zero-padded as HDF5 pads
/// edge chunks. Values are converted to @p dtype as static_cast does. Other datasets go
/// through write_rows() block by block.
class RowAppender {
public:
    RowAppender(hid_t dset, DType dtype, int threads);
    /// Rows [rows_appended(), rows_appended() + n_rows), C order, the other axes whole.
    template <class T> void append(const T* data, std::int64_t n_rows);
    /// Stores the rows still waiting; they must reach the end of the dataset.
    void finish();
    [[nodiscard]] std::int64_t rows_appended() const { return appended_; }

private:
    void store_chunks(std::int64_t count);
    hid_t dset_;
    DType dtype_;
    int threads_;
    std::vector<std::int64_t> shape_;
    std::int64_t row_bytes_ = 0, chunk_rows_ = 0, appended_ = 0, stored_ = 0;
    int level_ = 0;          ///< deflate level; 0: not written directly
    std::vector<unsigned char> pending_; ///< rows [stored_, appended_), in dtype_
};
/// Writes a compound dataset with variable-length UTF-8 string fields, as anndata's rec-array writer does.
void write_compound(hid_t loc, const std::string& name, const RecordArray& r, const WriteSettings& s);

} // namespace scx::h5
