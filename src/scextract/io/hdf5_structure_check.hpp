#pragma once
/// @file hdf5_structure_check.hpp
/// @brief Internal to io/: checks of an HDF5 file's own bytes before libhdf5 reads them.
///
/// Debian's libhdf5 (1.10.8) trusts every structure it reads from a file: damaged object
/// headers, heaps, B-trees or datatypes made it crash, hang or allocate without bound under the
/// fuzzers (issue 23, tests/fuzz/findings/README.md). io/hdf5.cpp calls these before each read
/// that would reach such a structure; each refuses with one scx::Error naming the file and the
/// object, ending "(damaged file?)". Files opened for writing (ours) are not checked.

#include "scextract/core/error.hpp"
#include "scextract/io/hdf5.hpp"

#include <cstddef>
#include <cstdint>

#include <span>
#include <string>

#include <fmt/format.h>

namespace scx::h5::detail {

/// Throws scx::Error(@p what and libhdf5's error stack) when @p result is negative.
template <class F> auto check(F result, const std::string& what) {
    if (result < 0) {
        const auto stack = error_stack();
        throw Error(stack.empty() ? what : fmt::format("{} ({})", what, stack));
    }
    return result;
}

/// where() of the child @p name of @p loc, before it is opened ("file:/obs", not "file://obs").
std::string where_child(hid_t loc, const std::string& name);

/// The file at @p path (or its in-memory @p image, when not empty) before H5Fopen: its
/// superblock and the root group's object header, which H5Fopen loads whole.
void check_root_header(const std::string& path, std::span<const std::byte> image);

/// The object the link @p name of @p loc leads to, before libhdf5 loads its header (every lookup
/// by name does): its header blocks, messages, group indexes and chunk index. External links
/// are refused: scextract never opens paths a file names.
void check_linked_header(hid_t loc, const std::string& name);

/// The header of open object @p obj, before any of its attributes is looked up.
void check_attribute_messages(hid_t obj);

/// Refuses @p obj, whose header libhdf5 cannot describe (H5Oget_info failed).
[[noreturn]] void object_header_unreadable(hid_t obj);

/// Refusals worded once for the two places that make each: open_dataset (through libhdf5's
/// view) and the header walk (before libhdf5 decodes the header). @p where names the dataset.
[[noreturn]] void refuse_external_storage(const std::string& where);
[[noreturn]] void refuse_virtual_dataset(const std::string& where);
[[noreturn]] void refuse_short_compact_data(const std::string& where, std::uint64_t held, std::uint64_t n, std::uint64_t need);

/// The global heap behind a variable-length string dataset, or behind the string fields of a
/// dataset of records (@p records), before H5Dread reads it.
void check_vlen_heap(hid_t dset, bool records = false);

/// The global heap behind the @p n strings of variable-length string attribute @p name of @p obj.
void check_vlen_attr_heap(hid_t obj, const std::string& name, std::uint64_t n);

} // namespace scx::h5::detail
