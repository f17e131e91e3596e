#include "scextract/io/hdf5.hpp"
#include "scextract/io/hdf5_structure_check.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/io/lzf_filter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>

#include <libdeflate.h>

#include <fmt/format.h>

namespace scx::h5 {

using detail::check;
using detail::check_attribute_messages;
using detail::check_linked_header;
using detail::check_root_header;
using detail::check_vlen_attr_heap;
using detail::check_vlen_heap;
using detail::object_header_unreadable;
using detail::refuse_external_storage;
using detail::refuse_short_compact_data;
using detail::refuse_virtual_dataset;
using detail::where_child;

namespace {
// HDF5's own exit-time cleanup closes files still open; one whose close failed on a full
// disk (the flush fails) makes it crash (H5F__close_cb) after the error line was printed.
// Every handle we open is closed by its Handle, and a failed output is removed by its
// AtomicOutput, so the cleanup is not needed: turned off before the library starts.
const bool g_no_exit_cleanup = [] {
    H5dont_atexit();
    return true;
}();
} // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
    if (this != &o) {
        reset();
        id_ = o.id_;
        o.id_ = H5I_INVALID_HID;
    }
    return *this;
}

void Handle::reset() {
    if (id_ < 0) return;
    switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Oclose(id_); break;
    }
    id_ = H5I_INVALID_HID;
}

void init_hdf5() {
    static std::once_flag once;
    std::call_once(once, [] { register_lzf_filter(); });
    // the library is thread-safe, so every thread has its own error stack, printing
    // "HDF5-DIAG" lines by default: silence it in each thread that calls HDF5 (our
    // messages carry the stack in one line instead)
    thread_local bool quiet = false;
    if (!quiet) {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        quiet = true;
    }
}

namespace {

herr_t collect_error(unsigned n, const H5E_error2_t* e, void* data) {
    auto* out = static_cast<std::string*>(data);
    if (n > 3 || !e->desc || !*e->desc) return 0; // innermost frames carry the cause
    std::string_view desc = e->desc;
    // a failed system call is described with a dump of its arguments: keep the system's message
    constexpr std::string_view key = "error message = '";
    if (const auto at = desc.find(key); at != std::string_view::npos) {
        const auto from = at + key.size(), to = desc.find('\'', from);
        if (to != std::string_view::npos) desc = desc.substr(from, to - from);
    }
    if (!out->empty()) *out += "; ";
    for (const char c : desc) *out += (c == '\n' || c == '\r') ? ' ' : c; // one line
    return 0;
}

} // namespace

std::string error_stack() {
    std::string out;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &out);
    H5Eclear2(H5E_DEFAULT);
    return out;
}

namespace {
Handle open_file(const std::string& path, unsigned flags) {
    init_hdf5();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("{}: no such file", path));
    if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("{}: is a directory, not an HDF5 file", path));
    const htri_t is_h5 = H5Fis_hdf5(path.c_str());
    if (is_h5 == 0) throw Error(fmt::format("{}: not an HDF5 file (no HDF5 signature)", path));
    if (is_h5 < 0) throw Error(fmt::format("{}: cannot be read as HDF5 ({})", path, error_stack()));
    check_root_header(path, {});
    const hid_t f = H5Fopen(path.c_str(), flags, H5P_DEFAULT);
    if (f < 0) {
        const auto stack = error_stack();
        const bool truncated = stack.find("truncated") != std::string::npos || stack.find("eof") != std::string::npos;
        throw Error(fmt::format("{}: {} ({})", path,
                                truncated ? "the file is truncated or damaged" : "cannot open HDF5 file", stack));
    }
    return Handle(f);
}
} // namespace

Handle open_file_read(const std::string& path) { return open_file(path, H5F_ACC_RDONLY); }
Handle open_file_rw(const std::string& path) { return open_file(path, H5F_ACC_RDWR); }

Handle open_file_image(std::span<const std::byte> image, const std::string& name) {
    init_hdf5();
    if (image.empty()) throw Error(fmt::format("{}: empty, not an HDF5 file", name));
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
    if (fapl.get() < 0 || H5Pset_fapl_core(fapl.get(), 1 << 16, 0) < 0 ||
        H5Pset_file_image(fapl.get(), const_cast<std::byte*>(image.data()), image.size()) < 0)
        throw Error(fmt::format("{}: cannot set up an in-memory HDF5 file ({})", name, error_stack()));
    check_root_header(name, image);
    const hid_t f = H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get());
    if (f < 0) throw Error(fmt::format("{}: cannot open HDF5 file image ({})", name, error_stack()));
    return Handle(f);
}

Handle create_file(const std::string& path) {
    init_hdf5();
    // Track creation order so groups list children in the order we wrote them.
    Handle fcpl(H5Pcreate(H5P_FILE_CREATE));
    H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pset_obj_track_times(fcpl, false); // the root group: identical runs give identical bytes
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    if (f < 0) throw Error(fmt::format("{}: cannot create file ({})", path, error_stack()));
    return Handle(f);
}

std::string file_name(hid_t obj) {
    const ssize_t n = H5Fget_name(obj, nullptr, 0);
    if (n <= 0) return "?";
    std::string s(static_cast<std::size_t>(n), '\0');
    H5Fget_name(obj, s.data(), s.size() + 1);
    // an output being written lives in its AtomicOutput temporary, DIR/.NAME.tmp-PID: name
    // the output the user gave, DIR/NAME
    const auto slash = s.rfind('/');
    const auto base = slash == std::string::npos ? 0 : slash + 1;
    const auto tmp = s.rfind(".tmp-");
    if (tmp != std::string::npos && tmp > base + 1 && s[base] == '.' &&
        s.find_first_not_of("0123456789", tmp + 5) == std::string::npos && tmp + 5 < s.size())
    {
        s = s.substr(0, base) + s.substr(base + 1, tmp - base - 1);
        if (s.rfind("./", 0) == 0) s.erase(0, 2); // AtomicOutput's "." for a bare name
    }
    return s;
}

std::string object_path(hid_t obj) {
    const ssize_t n = H5Iget_name(obj, nullptr, 0);
    if (n <= 0) return "/";
    std::string s(static_cast<std::size_t>(n), '\0');
    H5Iget_name(obj, s.data(), s.size() + 1);
    return s;
}

std::string where(hid_t obj) { return fmt::format("{}:{}", file_name(obj), object_path(obj)); }

namespace detail {
std::string where_child(hid_t loc, const std::string& name) {
    const auto parent = where(loc);
    return parent.ends_with('/') ? parent + name : parent + "/" + name;
}
} // namespace detail

bool link_exists(hid_t loc, const std::string& name) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    // H5Lexists fails on intermediate missing groups, so walk the path.
    std::string prefix;
    std::size_t start = 0;
    while (start <= name.size()) {
        const auto slash = name.find('/', start);
        prefix = name.substr(0, slash == std::string::npos ? name.size() : slash);
        if (!prefix.empty() && prefix != "/") {
            const htri_t e = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
            if (e <= 0) {
                H5Eclear2(H5E_DEFAULT);
                return false;
            }
        }
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return true;
}

namespace {
H5O_type_t object_type(hid_t loc, const std::string& name) {
    if (!link_exists(loc, name)) return H5O_TYPE_UNKNOWN;
    check_linked_header(loc, name);
    H5O_info_t info;
    if (H5Oget_info_by_name2(loc, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return H5O_TYPE_UNKNOWN;
    }
    return info.type;
}
} // namespace

bool is_group(hid_t loc, const std::string& name) { return object_type(loc, name) == H5O_TYPE_GROUP; }
bool is_dataset(hid_t loc, const std::string& name) { return object_type(loc, name) == H5O_TYPE_DATASET; }

Handle open_group(hid_t loc, const std::string& name) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    check_linked_header(loc, name);
    const hid_t g = H5Gopen2(loc, name.c_str(), H5P_DEFAULT);
    if (g < 0) throw Error(fmt::format("{}: cannot open group ({})", where_child(loc, name), error_stack()));
    return Handle(g);
}

Handle open_dataset(hid_t loc, const std::string& name) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    check_linked_header(loc, name); // H5Dopen decodes the datatype and dataspace: the header is checked first
    const hid_t d = H5Dopen2(loc, name.c_str(), H5P_DEFAULT);
    if (d < 0) throw Error(fmt::format("{}: cannot open dataset ({})", where_child(loc, name), error_stack()));
    Handle dset(d);
    // Data kept in other files (external storage, virtual datasets) would make libhdf5 read
    // whatever paths the file names: refused, an h5ad keeps its data inside the file.
    Handle dcpl(H5Dget_create_plist(dset));
    if (H5Pget_external_count(dcpl) > 0)
        refuse_external_storage(where(dset));
    if (H5Pget_layout(dcpl) == H5D_COMPACT) { // libhdf5 1.10 copies the elements from the message, however few it holds
        Handle space(H5Dget_space(dset));
        Handle type(H5Dget_type(dset));
        const auto n = static_cast<std::uint64_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0));
        const std::uint64_t need = checked_bytes(n, H5Tget_size(type)), held = H5Dget_storage_size(dset);
        if (held < need) refuse_short_compact_data(where(dset), held, n, need);
    }
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) { // libhdf5 1.10 reads a scalar with rank-1 chunks for ever, allocating
        Handle space(H5Dget_space(dset));
        hsize_t dims[H5S_MAX_RANK] = {};
        const int chunk_rank = H5Pget_chunk(dcpl, H5S_MAX_RANK, dims), data_rank = H5Sget_simple_extent_ndims(space);
        if (chunk_rank != data_rank)
            throw Error(fmt::format("{}: its chunks have {} dimensions but its data has {}; damaged file?", where(dset), chunk_rank,
                                    data_rank));
    }
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL) refuse_virtual_dataset(where(dset));
    return dset;
}

Handle create_group(hid_t loc, const std::string& name) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    Handle gcpl(H5Pcreate(H5P_GROUP_CREATE));
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pset_obj_track_times(gcpl, false); // no timestamps: identical runs give identical bytes
    const hid_t g = H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0) throw Error(fmt::format("{}/{}: cannot create group ({})", where(loc), name, error_stack()));
    return Handle(g);
}

void unlink_if_exists(hid_t loc, const std::string& name) {
    if (link_exists(loc, name)) check(H5Ldelete(loc, name.c_str(), H5P_DEFAULT), fmt::format("{}/{}: cannot remove", where(loc), name));
}

namespace {
herr_t push_name(hid_t, const char* name, const H5L_info_t*, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}
} // namespace

std::vector<std::string> children(hid_t group) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    std::vector<std::string> names;
    hsize_t idx = 0;
    if (H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, push_name, &names) < 0) {
        H5Eclear2(H5E_DEFAULT);
        names.clear();
        idx = 0;
        check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, push_name, &names),
              fmt::format("{}: cannot list group", where(group)));
    }
    return names;
}

bool has_attr(hid_t obj, const std::string& name) {
    check_attribute_messages(obj);
    const htri_t e = H5Aexists(obj, name.c_str());
    if (e < 0) H5Eclear2(H5E_DEFAULT);
    return e > 0;
}


namespace {
std::vector<std::string> read_string_values(hid_t obj, hid_t type, hid_t space, bool is_attr, const std::string& what) {
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    std::vector<std::string> out;
    if (n <= 0) return out;
    out.reserve(static_cast<std::size_t>(n));
    if (H5Tis_variable_str(type) > 0) {
        Handle mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem, H5T_VARIABLE);
        H5Tset_cset(mem, H5Tget_cset(type));
        if (!is_attr) check_vlen_heap(obj);
        std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
        // whatever libhdf5 allocated is freed on every path, a failed or partial read included
        // (the pointers start null, which the reclaim skips)
        struct Reclaim {
            hid_t mem, space;
            std::vector<char*>& ptrs;
            ~Reclaim() { H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data()); }
        } reclaim{mem, space, ptrs};
        const herr_t r = is_attr ? H5Aread(obj, mem, ptrs.data()) : H5Dread(obj, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
        check(r, what + ": cannot read strings");
        for (auto* p : ptrs) out.emplace_back(p ? p : "");
    } else {
        const std::size_t len = H5Tget_size(type);
        std::vector<char> buf(len * static_cast<std::size_t>(n));
        Handle mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem, len);
        H5Tset_strpad(mem, H5T_STR_NULLPAD);
        const herr_t r = is_attr ? H5Aread(obj, mem, buf.data()) : H5Dread(obj, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
        check(r, what + ": cannot read strings");
        for (hssize_t i = 0; i < n; ++i) {
            const char* p = buf.data() + static_cast<std::size_t>(i) * len;
            out.emplace_back(p, strnlen(p, len));
        }
    }
    return out;
}
} // namespace

std::vector<std::string> read_string_array_attr(hid_t obj, const std::string& name) {
    check_attribute_messages(obj);
    Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    if (!a.valid()) throw Error(fmt::format("{}: missing attribute '{}'", where(obj), name));
    Handle type(H5Aget_type(a));
    Handle space(H5Aget_space(a));
    // h5py stores an empty list as a zero-length float64 array
    if (H5Tget_class(type) != H5T_STRING && H5Sget_simple_extent_npoints(space) == 0) return {};
    if (H5Tget_class(type) != H5T_STRING)
        throw Error(fmt::format("{}: attribute '{}' is not a string", where(obj), name));
    if (H5Tis_variable_str(type) > 0)
        check_vlen_attr_heap(obj, name, static_cast<std::uint64_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0)));
    return read_string_values(a, type, space, true, fmt::format("{} attribute '{}'", where(obj), name));
}

std::optional<std::string> read_string_attr(hid_t obj, const std::string& name) {
    if (!has_attr(obj, name)) return std::nullopt;
    check_attribute_messages(obj);
    Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    Handle type(H5Aget_type(a));
    if (H5Tget_class(type) != H5T_STRING) return std::nullopt;
    auto v = read_string_array_attr(obj, name);
    if (v.empty()) return std::string{};
    return v.front();
}

std::vector<std::int64_t> read_int_array_attr(hid_t obj, const std::string& name) {
    check_attribute_messages(obj);
    Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    if (!a.valid()) throw Error(fmt::format("{}: missing attribute '{}'", where(obj), name));
    Handle space(H5Aget_space(a));
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    std::vector<std::int64_t> out(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
    check(H5Aread(a, H5T_NATIVE_INT64, out.data()), fmt::format("{}: attribute '{}' is not an integer array", where(obj), name));
    return out;
}

std::optional<bool> read_bool_attr(hid_t obj, const std::string& name) {
    if (!has_attr(obj, name)) return std::nullopt;
    check_attribute_messages(obj);
    Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    Handle type(H5Aget_type(a));
    std::int8_t v = 0;
    Handle mem(H5Tcopy(native_type(DType::bool_)));
    if (H5Tget_class(type) == H5T_ENUM) {
        check(H5Aread(a, mem, &v), fmt::format("{}: cannot read attribute '{}'", where(obj), name));
    } else {
        std::int64_t w = 0;
        check(H5Aread(a, H5T_NATIVE_INT64, &w), fmt::format("{}: attribute '{}' is not a bool", where(obj), name));
        v = w != 0;
    }
    return v != 0;
}

bool attr_is_reference(hid_t obj, const std::string& name) {
    if (!has_attr(obj, name)) return false;
    check_attribute_messages(obj);
    Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    Handle type(H5Aget_type(a));
    return H5Tget_class(type) == H5T_REFERENCE;
}

Handle deref_attr(hid_t obj, const std::string& name) {
    check_attribute_messages(obj);
    Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    hobj_ref_t ref{};
    check(H5Aread(a, H5T_STD_REF_OBJ, &ref), fmt::format("{}: cannot read reference '{}'", where(obj), name));
    const hid_t target = H5Rdereference2(obj, H5P_DEFAULT, H5R_OBJECT, &ref);
    if (target < 0) throw Error(fmt::format("{}: reference '{}' points nowhere ({})", where(obj), name, error_stack()));
    return Handle(target);
}

namespace {
Handle vlen_utf8() {
    Handle t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

void replace_attr(hid_t obj, const std::string& name) {
    if (has_attr(obj, name)) H5Adelete(obj, name.c_str());
}
} // namespace

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
    replace_attr(obj, name);
    Handle t = vlen_utf8();
    Handle space(H5Screate(H5S_SCALAR));
    Handle a(H5Acreate2(obj, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT));
    const char* p = value.c_str();
    check(H5Awrite(a, t, &p), fmt::format("{}: cannot write attribute '{}'", where(obj), name));
}

void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
    replace_attr(obj, name);
    const hsize_t n = values.size();
    Handle space(H5Screate_simple(1, &n, nullptr));
    if (values.empty()) {
        // h5py stores an empty list as a zero-length float64 array; anndata reads that back as []
        Handle a(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT));
        if (!a.valid()) throw Error(fmt::format("{}: cannot write attribute '{}'", where(obj), name));
        return;
    }
    Handle t = vlen_utf8();
    Handle a(H5Acreate2(obj, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT));
    std::vector<const char*> ptrs;
    for (const auto& v : values) ptrs.push_back(v.c_str());
    check(H5Awrite(a, t, ptrs.data()), fmt::format("{}: cannot write attribute '{}'", where(obj), name));
}

void write_int_array_attr(hid_t obj, const std::string& name, const std::vector<std::int64_t>& values) {
    replace_attr(obj, name);
    const hsize_t n = values.size();
    Handle space(H5Screate_simple(1, &n, nullptr));
    Handle a(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT));
    check(H5Awrite(a, H5T_NATIVE_INT64, values.data()), fmt::format("{}: cannot write attribute '{}'", where(obj), name));
}

void write_bool_attr(hid_t obj, const std::string& name, bool value) {
    replace_attr(obj, name);
    Handle t(H5Tcopy(native_type(DType::bool_)));
    Handle space(H5Screate(H5S_SCALAR));
    Handle a(H5Acreate2(obj, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT));
    const std::int8_t v = value ? 1 : 0;
    check(H5Awrite(a, t, &v), fmt::format("{}: cannot write attribute '{}'", where(obj), name));
}

void write_encoding(hid_t obj, const std::string& type, const std::string& version) {
    write_string_attr(obj, "encoding-type", type);
    write_string_attr(obj, "encoding-version", version);
}

hid_t native_type(DType t) {
    switch (t) {
    case DType::int8: return H5T_NATIVE_INT8;
    case DType::int16: return H5T_NATIVE_INT16;
    case DType::int32: return H5T_NATIVE_INT32;
    case DType::int64: return H5T_NATIVE_INT64;
    case DType::uint8: return H5T_NATIVE_UINT8;
    case DType::uint16: return H5T_NATIVE_UINT16;
    case DType::uint32: return H5T_NATIVE_UINT32;
    case DType::uint64: return H5T_NATIVE_UINT64;
    case DType::float32: return H5T_NATIVE_FLOAT;
    case DType::float64: return H5T_NATIVE_DOUBLE;
    case DType::bool_: {
        // numpy bool as h5py stores it: enum {FALSE = 0, TRUE = 1} over int8. Built once, never closed.
        static const hid_t bool_type = [] {
            const hid_t e = H5Tenum_create(H5T_NATIVE_INT8);
            std::int8_t v = 0;
            H5Tenum_insert(e, "FALSE", &v);
            v = 1;
            H5Tenum_insert(e, "TRUE", &v);
            return e;
        }();
        return bool_type;
    }
    }
    throw Error("unknown dtype");
}

namespace {
/// The DType of an HDF5 datatype (numpy-style enum bool included); @p what names
/// the dataset or field in errors.
DType dtype_of_type(hid_t type, const std::string& what) {
    const auto cls = H5Tget_class(type);
    const auto size = H5Tget_size(type);
    if (cls == H5T_ENUM) {
        Handle base(H5Tget_super(type));
        if (H5Tget_size(base) == 1 && H5Tget_nmembers(type) == 2) return DType::bool_;
        throw Error(fmt::format("{}: enum datasets other than bool are not supported", what));
    }
    if (cls == H5T_INTEGER) {
        const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
        switch (size) {
        case 1: return is_signed ? DType::int8 : DType::uint8;
        case 2: return is_signed ? DType::int16 : DType::uint16;
        case 4: return is_signed ? DType::int32 : DType::uint32;
        case 8: return is_signed ? DType::int64 : DType::uint64;
        default: break;
        }
    }
    if (cls == H5T_FLOAT) {
        if (size == 4) return DType::float32;
        if (size == 8) return DType::float64;
        if (size == 2) throw Error(fmt::format("{}: float16 datasets are not supported; convert to float32", what));
    }
    if (cls == H5T_STRING) throw Error(fmt::format("{}: expected numbers but the dataset holds strings", what));
    throw Error(fmt::format("{}: unsupported HDF5 datatype (class {}, {} bytes)", what, static_cast<int>(cls), size));
}
} // namespace

DType dataset_dtype(hid_t dset) {
    Handle type(H5Dget_type(dset));
    return dtype_of_type(type, where(dset));
}

bool dataset_is_string(hid_t dset) {
    Handle type(H5Dget_type(dset));
    return H5Tget_class(type) == H5T_STRING;
}

std::vector<std::int64_t> dataset_shape(hid_t dset) {
    Handle space(H5Dget_space(dset));
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0) throw Error(fmt::format("{}: cannot read shape", where(dset)));
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    return {dims.begin(), dims.end()};
}

void check_filters(hid_t dset) {
    Handle plist(H5Dget_create_plist(dset));
    const int n = H5Pget_nfilters(plist);
    for (int i = 0; i < n; ++i) {
        unsigned flags = 0;
        std::size_t nelem = 0;
        char name[256] = {0};
        unsigned filter_config = 0;
        const H5Z_filter_t id = H5Pget_filter2(plist, static_cast<unsigned>(i), &flags, &nelem, nullptr, sizeof name, name,
                                               &filter_config);
        if (H5Zfilter_avail(id) > 0) continue;
        std::string label = name[0] ? name : "unnamed";
        if (id == 32001) label = "blosc";
        if (id == 32004) label = "lz4";
        if (id == 32015) label = "zstd";
        throw Error(fmt::format(
            "{}: compressed with HDF5 filter {} ({}), which this HDF5 library does not provide; "
            "re-save the file with gzip compression, e.g. in Python: anndata.read_h5ad(path).write_h5ad(out, compression='gzip')",
            where(dset), id, label));
    }
}

namespace {
std::string human_bytes(std::uint64_t b) {
    if (b >= 1000000000ULL) return fmt::format("{:.1f} GB", static_cast<double>(b) / 1e9);
    if (b >= 1000000ULL) return fmt::format("{:.1f} MB", static_cast<double>(b) / 1e6);
    if (b >= 1000ULL) return fmt::format("{:.1f} kB", static_cast<double>(b) / 1e3);
    return fmt::format("{} bytes", b);
}
} // namespace

namespace {
void check_declared_against_stored(hid_t dset, std::uint64_t declared, H5D_layout_t layout, std::uint64_t file_bytes);

/// The size of @p obj's file in bytes, 0 where libhdf5 cannot tell.
std::uint64_t file_bytes_of(hid_t obj) {
    Handle file(H5Iget_file_id(obj));
    hsize_t bytes = 0;
    if (!file.valid() || H5Fget_filesize(file, &bytes) < 0) bytes = 0;
    H5Eclear2(H5E_DEFAULT);
    return bytes;
}
} // namespace

void check_stored_size(hid_t dset) {
    Handle space(H5Dget_space(dset));
    Handle type(H5Dget_type(dset));
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0) throw Error(fmt::format("{}: cannot read shape ({})", where(dset), error_stack()));
    const std::uint64_t declared = checked_bytes(static_cast<std::uint64_t>(n), H5Tget_size(type));
    Handle dcpl(H5Dget_create_plist(dset));
    const auto layout = H5Pget_layout(dcpl);
    const std::uint64_t bytes = file_bytes_of(dset);
    std::optional<std::string> too_many_chunks;
    if (layout == H5D_CHUNKED) { // libhdf5 allocates a whole chunk to read any part of it
        hsize_t dims[H5S_MAX_RANK] = {};
        const int rank = H5Pget_chunk(dcpl, H5S_MAX_RANK, dims);
        std::uint64_t chunk = H5Tget_size(type);
        for (int i = 0; i < rank; ++i) chunk = checked_bytes(chunk, dims[i]);
        if (chunk > std::max(declared, kUncheckedDatasetBytes))
            throw Error(fmt::format("{}: a chunk of {} is larger than the whole dataset ({}); damaged or hostile file?",
                                    where(dset), human_bytes(chunk), human_bytes(declared)));
        // libhdf5 sets up every chunk a read touches, written or not (some 400 bytes each): a
        // tiny chunk over a large extent made a 50 KB file take 24 GB. A written chunk takes at
        // least its B-tree entry in the file, so more chunks than the file has bytes / 8 (or
        // 65536, for small files of unwritten fill values) cannot be real data.
        hsize_t extent[H5S_MAX_RANK] = {};
        const int space_rank = H5Sget_simple_extent_dims(space, extent, nullptr);
        double n_chunks = 1;
        for (int i = 0; i < std::min(space_rank, rank); ++i)
            n_chunks *= dims[i] > 0 ? std::ceil(static_cast<double>(extent[i]) / static_cast<double>(dims[i])) : 0;
        const double limit = std::max(static_cast<double>(bytes) / 8, 65536.0);
        if (n_chunks > limit)
            too_many_chunks = fmt::format("{}: is split into {:.0f} chunks, more than a file of {} could hold; damaged or hostile file?",
                                          where(dset), n_chunks, human_bytes(bytes));
    }
    // the declared size first (the clearer message), then the chunk count
    if (declared >= kUncheckedDatasetBytes && layout != H5D_COMPACT) check_declared_against_stored(dset, declared, layout, bytes);
    if (too_many_chunks) throw Error(*too_many_chunks);
}

namespace {
/// Part of check_stored_size: a dataset of @p declared bytes must store enough of them.
void check_declared_against_stored(hid_t dset, std::uint64_t declared, H5D_layout_t layout, std::uint64_t file_bytes) {
    std::uint64_t stored = H5Dget_storage_size(dset);
    if (file_bytes > 0) stored = std::min(stored, file_bytes);
    H5Eclear2(H5E_DEFAULT);
    const double ratio = layout == H5D_CHUNKED ? kMaxCompressionRatio : 1.0;
    if (static_cast<double>(declared) <= ratio * static_cast<double>(stored)) return;
    throw Error(fmt::format("{}: declares {} but stores {} in the file ({}); damaged or hostile file?", where(dset),
                            human_bytes(declared), human_bytes(stored),
                            layout == H5D_CHUNKED ? fmt::format("more than {:.0f}:1 compression is not plausible", kMaxCompressionRatio)
                                                  : std::string("an uncompressed dataset stores all of its bytes")));
}
} // namespace

void check_read_size(hid_t dset, std::uint64_t mem_bytes) {
    check_stored_size(dset);
    check_fits_in_memory(mem_bytes, where(dset));
}

NdArray read_ndarray(hid_t dset) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    check_filters(dset);
    NdArray a;
    a.dtype = dataset_dtype(dset);
    a.shape = dataset_shape(dset);
    std::uint64_t elems = 1;
    for (const auto d : a.shape) elems = checked_bytes(elems, static_cast<std::uint64_t>(d));
    check_read_size(dset, checked_bytes(elems, dtype_size(a.dtype)));
    a.bytes.resize(static_cast<std::size_t>(a.size()) * dtype_size(a.dtype));
    if (a.size() > 0)
        check(H5Dread(dset, native_type(a.dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, a.bytes.data()),
              fmt::format("{}: cannot read dataset", where(dset)));
    return a;
}

StringArray read_strings(hid_t dset) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    check_filters(dset);
    StringArray s;
    s.shape = dataset_shape(dset);
    Handle type(H5Dget_type(dset));
    Handle space(H5Dget_space(dset));
    check_read_size(dset, checked_bytes(static_cast<std::uint64_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0)),
                                        std::max<std::size_t>(H5Tget_size(type), sizeof(std::string))));
    s.values = read_string_values(dset, type, space, false, where(dset));
    return s;
}

namespace {
template <class T> hid_t mem_type_for() {
    if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
    else if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
    else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
    else if constexpr (std::is_same_v<T, bool>) return native_type(DType::bool_); // h5py's enum over int8
    else static_assert(sizeof(T) == 0, "unsupported memory type");
}
} // namespace

namespace {

/// The deflate level of @p dset (creation list @p dcpl) when it is chunked with @p rank
/// dimensions, deflate is its only filter and it stores @p mem_type as is: the layout whose
/// chunks are inflated or deflated here, in parallel, rather than by HDF5's filter.
std::optional<unsigned> deflate_chunks_of(hid_t dset, hid_t dcpl, int rank, hid_t mem_type) {
    if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_chunk(dcpl, 0, nullptr) != rank || H5Pget_nfilters(dcpl) != 1)
        return std::nullopt;
    unsigned flags = 0, level = 0;
    std::size_t n_cd = 1;
    if (H5Pget_filter2(dcpl, 0, &flags, &n_cd, &level, 0, nullptr, nullptr) != H5Z_FILTER_DEFLATE) return std::nullopt;
    Handle file_type(H5Dget_type(dset));
    if (H5Tequal(file_type, mem_type) <= 0) return std::nullopt;
    return n_cd >= 1 ? level : 0U;
}

/// This thread's libdeflate decompressor (a few tens of KB, made once per thread); null when
/// out of memory.
libdeflate_decompressor* thread_decompressor() {
    struct Free {
        void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
    };
    thread_local const std::unique_ptr<libdeflate_decompressor, Free> d(libdeflate_alloc_decompressor());
    return d.get();
}

/// Fast path of read_range for the common h5ad layout: a 1-D chunked dataset whose
/// only filter is deflate and whose stored type equals the memory type. Compressed
/// chunks are fetched serially (HDF5 is not thread-safe) and inflated in parallel
/// with libdeflate (a faster inflate than zlib for whole buffers, adler-32 checked as zlib
/// does), in fixed batches, so results do not depend on the thread count.
/// Returns false when the layout does not qualify (the caller then uses H5Dread).
template <class T>
bool read_range_parallel_inflate(hid_t dset, std::int64_t offset, std::int64_t count, T* out, ChunkCache* cache) {
    Handle dcpl(H5Dget_create_plist(dset));
    if (!deflate_chunks_of(dset, dcpl, 1, mem_type_for<T>())) return false;
    hsize_t chunk = 0;
    H5Pget_chunk(dcpl, 1, &chunk);
    const auto total = dataset_shape(dset).at(0);
    if (offset < 0 || offset + count > total) return false; // let H5Dread report it
    const std::int64_t chunk_elems = static_cast<std::int64_t>(chunk);
    const std::int64_t first = offset / chunk_elems, last = (offset + count - 1) / chunk_elems;
    constexpr std::int64_t batch = 64;
    std::vector<std::vector<unsigned char>> packed(batch);
    std::vector<std::uint32_t> masks(batch);
    std::vector<std::vector<T>> scratch(batch);
    for (std::int64_t b0 = first; b0 <= last; b0 += batch) {
        const std::int64_t nb = std::min(batch, last + 1 - b0);
        for (std::int64_t i = 0; i < nb; ++i) {
            if (cache && cache->chunk == b0 + i) continue; // inflated by the previous call
            const hsize_t coord = static_cast<hsize_t>((b0 + i) * chunk_elems);
            hsize_t bytes = 0;
            if (H5Dget_chunk_storage_size(dset, &coord, &bytes) < 0 || bytes == 0) {
                H5Eclear2(H5E_DEFAULT);
                return false; // unallocated chunk (fill values): not worth a special case
            }
            // deflate grows incompressible data by well under 1%: a larger stored size is a damaged index
            if (bytes > static_cast<hsize_t>(chunk_elems) * sizeof(T) * 2 + 4096)
                throw Error(fmt::format("{}: chunk {} claims {} bytes for {} values (damaged file?)", where(dset), b0 + i,
                                        bytes, chunk_elems));
            packed[i].resize(static_cast<std::size_t>(bytes));
            check(H5Dread_chunk(dset, H5P_DEFAULT, &coord, &masks[i], packed[i].data()),
                  fmt::format("{}: cannot read chunk at {}", where(dset), coord));
        }
        std::exception_ptr error;
        bool last_in_scratch = false;
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < nb; ++i) {
            const std::int64_t c = b0 + i;
            const std::int64_t lo = std::max(offset, c * chunk_elems), hi = std::min(offset + count, (c + 1) * chunk_elems);
            if (cache && cache->chunk == c) {
                std::memcpy(out + (lo - offset), reinterpret_cast<const T*>(cache->bytes.data()) + (lo - c * chunk_elems),
                            static_cast<std::size_t>(hi - lo) * sizeof(T));
                continue;
            }
            // a chunk wholly inside the range inflates straight into @p out; only the partial
            // chunks at the ends go through scratch (no extra copy, no fresh buffer per chunk)
            const bool whole = hi - lo == chunk_elems;
            T* dst = out + (lo - offset);
            if (!whole) {
                auto& buf = scratch[static_cast<std::size_t>(i)];
                buf.resize(static_cast<std::size_t>(chunk_elems));
                dst = buf.data();
                if (c == last) last_in_scratch = true;
            }
            std::size_t out_bytes = static_cast<std::size_t>(chunk_elems) * sizeof(T);
            const auto& src = packed[static_cast<std::size_t>(i)];
            auto rc = LIBDEFLATE_SUCCESS;
            if (masks[i] & 1u) { // deflate was skipped for this chunk: stored raw
                out_bytes = std::min(out_bytes, src.size());
                std::memcpy(dst, src.data(), out_bytes);
            } else if (auto* inflater = thread_decompressor()) {
                rc = libdeflate_zlib_decompress(inflater, src.data(), src.size(), dst, out_bytes, &out_bytes);
            } else {
#pragma omp critical
                if (!error) error = std::make_exception_ptr(std::bad_alloc());
                continue;
            }
            if (rc != LIBDEFLATE_SUCCESS || out_bytes < static_cast<std::size_t>(hi - c * chunk_elems) * sizeof(T)) {
#pragma omp critical
                if (!error)
                    error = std::make_exception_ptr(Error(fmt::format(
                        "{}: chunk {} does not inflate ({}): damaged file?", where(dset), c,
                        rc == LIBDEFLATE_SUCCESS ? "too few bytes"
                                                 : (rc == LIBDEFLATE_INSUFFICIENT_SPACE ? "more bytes than a chunk" : "bad deflate data"))));
                continue;
            }
            if (!whole)
                std::memcpy(out + (lo - offset), dst + (lo - c * chunk_elems), static_cast<std::size_t>(hi - lo) * sizeof(T));
        }
        if (error) std::rethrow_exception(error);
        // the next sequential call starts inside the last chunk only when this one ended inside it
        if (cache && last_in_scratch) {
            const auto& keep = scratch[static_cast<std::size_t>(nb - 1)];
            cache->bytes.resize(keep.size() * sizeof(T));
            std::memcpy(cache->bytes.data(), keep.data(), cache->bytes.size());
            cache->chunk = last;
        }
    }
    return true;
}

} // namespace

template <class T> void read_range(hid_t dset, std::int64_t offset, std::int64_t count, T* out, ChunkCache* cache) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    if (count <= 0) return;
    if (count >= (std::int64_t{1} << 18) && read_range_parallel_inflate(dset, offset, count, out, cache)) return;
    // Large selections are read in slices: one huge H5Dread of a compressed dataset
    // was measured 30% slower and to need an extra copy's worth of memory (bench/h5ad_read).
    constexpr std::int64_t slice = std::int64_t{1} << 22;
    Handle file_space(H5Dget_space(dset));
    for (std::int64_t done = 0; done < count; done += slice) {
        const hsize_t start = static_cast<hsize_t>(offset + done);
        const hsize_t n = static_cast<hsize_t>(std::min(slice, count - done));
        check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &n, nullptr),
              fmt::format("{}: range [{}, {}) out of bounds", where(dset), offset, offset + count));
        Handle mem_space(H5Screate_simple(1, &n, nullptr));
        check(H5Dread(dset, mem_type_for<T>(), mem_space, file_space, H5P_DEFAULT, out + done),
              fmt::format("{}: cannot read range [{}, {})", where(dset), offset, offset + count));
    }
}

template <class T> void read_rows_2d(hid_t dset, std::int64_t row, std::int64_t n_rows, T* out) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    if (n_rows <= 0) return;
    const auto shape = dataset_shape(dset);
    if (shape.size() != 2) throw Error(fmt::format("{}: expected a 2-D dataset", where(dset)));
    Handle file_space(H5Dget_space(dset));
    const hsize_t start[2] = {static_cast<hsize_t>(row), 0};
    const hsize_t count[2] = {static_cast<hsize_t>(n_rows), static_cast<hsize_t>(shape[1])};
    check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr),
          fmt::format("{}: rows [{}, {}) out of bounds", where(dset), row, row + n_rows));
    Handle mem_space(H5Screate_simple(2, count, nullptr));
    check(H5Dread(dset, mem_type_for<T>(), mem_space, file_space, H5P_DEFAULT, out),
          fmt::format("{}: cannot read rows [{}, {})", where(dset), row, row + n_rows));
}

template void read_range<float>(hid_t, std::int64_t, std::int64_t, float*, ChunkCache*);
template void read_range<double>(hid_t, std::int64_t, std::int64_t, double*, ChunkCache*);
template void read_range<std::int32_t>(hid_t, std::int64_t, std::int64_t, std::int32_t*, ChunkCache*);
template void read_range<std::int64_t>(hid_t, std::int64_t, std::int64_t, std::int64_t*, ChunkCache*);
template void read_rows_2d<float>(hid_t, std::int64_t, std::int64_t, float*);
template void read_rows_2d<double>(hid_t, std::int64_t, std::int64_t, double*);

template <class T> void write_rows(hid_t dset, std::int64_t row, std::int64_t n_rows, const T* data) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    if (n_rows <= 0) return;
    const auto shape = dataset_shape(dset);
    if (shape.empty()) throw Error(fmt::format("{}: cannot write rows of a scalar", where(dset)));
    std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
    start[0] = static_cast<hsize_t>(row);
    count[0] = static_cast<hsize_t>(n_rows);
    Handle file_space(H5Dget_space(dset));
    check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
          fmt::format("{}: rows [{}, {}) out of bounds", where(dset), row, row + n_rows));
    Handle mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
    check(H5Dwrite(dset, mem_type_for<T>(), mem_space, file_space, H5P_DEFAULT, data),
          fmt::format("{}: cannot write rows [{}, {})", where(dset), row, row + n_rows));
}

template void write_rows<float>(hid_t, std::int64_t, std::int64_t, const float*);
template void write_rows<double>(hid_t, std::int64_t, std::int64_t, const double*);
template void write_rows<std::int32_t>(hid_t, std::int64_t, std::int64_t, const std::int32_t*);
template void write_rows<bool>(hid_t, std::int64_t, std::int64_t, const bool*);

namespace {

/// This thread's libdeflate compressor at @p level (one per level in use, made once per thread).
libdeflate_compressor* thread_compressor(int level) {
    struct Free {
        void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
    };
    thread_local std::vector<std::pair<int, std::unique_ptr<libdeflate_compressor, Free>>> made;
    for (const auto& [l, c] : made)
        if (l == level) return c.get();
    std::unique_ptr<libdeflate_compressor, Free> c(libdeflate_alloc_compressor(level));
    if (!c) throw std::bad_alloc();
    made.emplace_back(level, std::move(c));
    return made.back().second.get();
}

/// Chunks compressed per parallel step: bounds the compressed bytes held at once.
constexpr std::int64_t kChunksPerStep = 64;

} // namespace

RowAppender::RowAppender(hid_t dset, DType dtype, int threads) : dset_(dset), dtype_(dtype), threads_(threads) {
    init_hdf5();
    shape_ = dataset_shape(dset);
    if (shape_.empty()) throw Error(fmt::format("{}: cannot append rows to a scalar", where(dset)));
    row_bytes_ = static_cast<std::int64_t>(dtype_size(dtype));
    for (std::size_t i = 1; i < shape_.size(); ++i) row_bytes_ *= shape_[i];
    Handle dcpl(H5Dget_create_plist(dset));
    const int rank = static_cast<int>(shape_.size());
    const auto level = deflate_chunks_of(dset, dcpl, rank, native_type(dtype));
    if (!level || row_bytes_ == 0) return;
    std::vector<hsize_t> chunk(static_cast<std::size_t>(rank));
    H5Pget_chunk(dcpl, rank, chunk.data());
    for (int i = 1; i < rank; ++i) // chunks must hold whole rows
        if (static_cast<std::int64_t>(chunk[static_cast<std::size_t>(i)]) != shape_[static_cast<std::size_t>(i)]) return;
    chunk_rows_ = static_cast<std::int64_t>(chunk[0]);
    level_ = std::clamp(static_cast<int>(*level), 1, 9);
}

template <class T> void RowAppender::append(const T* data, std::int64_t n_rows) {
    if (n_rows <= 0) return;
    if (appended_ + n_rows > shape_[0])
        throw Error(fmt::format("{}: rows [{}, {}) pass its {} rows", where(dset_), appended_, appended_ + n_rows, shape_[0]));
    if (level_ == 0) {
        write_rows(dset_, appended_, n_rows, data);
        appended_ += n_rows;
        stored_ = appended_;
        return;
    }
    const auto values = static_cast<std::size_t>(n_rows * row_bytes_ / static_cast<std::int64_t>(dtype_size(dtype_)));
    const auto at = pending_.size();
    pending_.resize(at + static_cast<std::size_t>(n_rows * row_bytes_));
    const auto convert = [&](auto* out) {
        using U = std::remove_pointer_t<decltype(out)>;
        for (std::size_t i = 0; i < values; ++i) out[i] = static_cast<U>(data[i]);
    };
    unsigned char* dst = pending_.data() + at;
    switch (dtype_) {
    case DType::float32: convert(reinterpret_cast<float*>(dst)); break;
    case DType::float64: convert(reinterpret_cast<double*>(dst)); break;
    case DType::int32: convert(reinterpret_cast<std::int32_t*>(dst)); break;
    case DType::int64: convert(reinterpret_cast<std::int64_t*>(dst)); break;
    case DType::int8: convert(reinterpret_cast<std::int8_t*>(dst)); break;
    case DType::uint8: case DType::bool_: convert(reinterpret_cast<std::uint8_t*>(dst)); break;
    default: throw Error(fmt::format("{}: rows of {} cannot be appended", where(dset_), dtype_name(dtype_)));
    }
    appended_ += n_rows;
    const auto whole = (appended_ - stored_) / chunk_rows_;
    if (whole > 0) store_chunks(whole);
}

template void RowAppender::append<float>(const float*, std::int64_t);
template void RowAppender::append<double>(const double*, std::int64_t);
template void RowAppender::append<std::int32_t>(const std::int32_t*, std::int64_t);
template void RowAppender::append<bool>(const bool*, std::int64_t);

void RowAppender::finish() {
    if (level_ == 0 || appended_ == stored_) return;
    if (appended_ != shape_[0])
        throw Error(fmt::format("{}: {} of {} rows were written", where(dset_), appended_, shape_[0]));
    pending_.resize(static_cast<std::size_t>(chunk_rows_ * row_bytes_), 0); // the edge chunk, zero-padded
    store_chunks(1);
}

void RowAppender::store_chunks(std::int64_t count) {
    const auto chunk_bytes = static_cast<std::size_t>(chunk_rows_ * row_bytes_);
    std::vector<std::vector<unsigned char>> packed(static_cast<std::size_t>(std::min(count, kChunksPerStep)));
    for (std::int64_t c0 = 0; c0 < count; c0 += kChunksPerStep) {
        const std::int64_t nc = std::min(kChunksPerStep, count - c0);
        parallel_for(nc, 1, threads_, [&](std::int64_t, std::int64_t i, std::int64_t) {
            auto* deflater = thread_compressor(level_);
            auto& out = packed[static_cast<std::size_t>(i)];
            out.resize(libdeflate_zlib_compress_bound(deflater, chunk_bytes));
            const auto* src = pending_.data() + static_cast<std::size_t>(c0 + i) * chunk_bytes;
            const auto n = libdeflate_zlib_compress(deflater, src, chunk_bytes, out.data(), out.size());
            if (n == 0) throw Error(fmt::format("{}: cannot compress chunk {}", where(dset_), c0 + i));
            out.resize(n);
        });
        for (std::int64_t i = 0; i < nc; ++i) {
            std::vector<hsize_t> offset(shape_.size(), 0);
            offset[0] = static_cast<hsize_t>(stored_);
            const auto& out = packed[static_cast<std::size_t>(i)];
            check(H5Dwrite_chunk(dset_, H5P_DEFAULT, 0, offset.data(), out.size(), out.data()),
                  fmt::format("{}: cannot write rows [{}, {})", where(dset_), stored_, stored_ + chunk_rows_));
            stored_ = std::min(stored_ + chunk_rows_, shape_[0]);
        }
    }
    const auto used = std::min(pending_.size(), static_cast<std::size_t>(count) * chunk_bytes);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
}

namespace {
/// A dataset creation list without object timestamps, so identical runs give identical bytes.
Handle untimed_dcpl() {
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_obj_track_times(dcpl, false);
    return dcpl;
}

Handle dataset_create_plist(const std::vector<std::int64_t>& shape, std::size_t elem_size, const WriteSettings& s) {
    Handle dcpl = untimed_dcpl();
    std::int64_t total = 1;
    for (auto d : shape) total *= d;
    if (s.gzip_level <= 0 || shape.empty() || total == 0) return dcpl;
    // Chunk along the first axis, keeping whole rows, about chunk_elems elements per chunk.
    std::int64_t row_elems = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) row_elems *= shape[i];
    const std::int64_t target = std::max<std::int64_t>(1, s.chunk_elems * 4 / static_cast<std::int64_t>(elem_size));
    std::vector<hsize_t> chunk(shape.begin(), shape.end());
    chunk[0] = static_cast<hsize_t>(std::clamp<std::int64_t>(target / std::max<std::int64_t>(row_elems, 1), 1, shape[0]));
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(dcpl, static_cast<unsigned>(s.gzip_level));
    return dcpl;
}
} // namespace

Handle create_ndarray_dataset(hid_t loc, const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                              const WriteSettings& s) {
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    Handle space(shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    Handle dcpl = shape.empty() ? untimed_dcpl() : dataset_create_plist(shape, dtype_size(dtype), s);
    // Store little-endian standard types, as h5py does on x86.
    hid_t file_type = native_type(dtype);
    Handle d(H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (!d.valid()) throw Error(fmt::format("{}/{}: cannot create dataset ({})", where(loc), name, error_stack()));
    return d;
}

void write_ndarray(hid_t loc, const std::string& name, const NdArray& a, const WriteSettings& s) {
    Handle d = create_ndarray_dataset(loc, name, a.dtype, a.shape, s);
    if (a.size() > 0)
        check(H5Dwrite(d, native_type(a.dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, a.bytes.data()),
              fmt::format("{}/{}: cannot write dataset", where(loc), name));
}

void write_strings(hid_t loc, const std::string& name, const StringArray& a, const WriteSettings& s) {
    std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
    Handle space(a.shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    Handle t = vlen_utf8();
    Handle dcpl = a.shape.empty() ? untimed_dcpl() : dataset_create_plist(a.shape, 16, s);
    Handle d(H5Dcreate2(loc, name.c_str(), t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (!d.valid()) throw Error(fmt::format("{}/{}: cannot create dataset ({})", where(loc), name, error_stack()));
    std::vector<const char*> ptrs;
    ptrs.reserve(a.values.size());
    for (const auto& v : a.values) ptrs.push_back(v.c_str());
    if (!ptrs.empty())
        check(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), fmt::format("{}/{}: cannot write strings", where(loc), name));
}

RecordArray read_compound(hid_t d) {
    init_hdf5(); // quiet HDF5 in this thread (a read-ahead thread may be new)
    check_filters(d);
    Handle type(H5Dget_type(d));
    if (H5Tget_class(type) != H5T_COMPOUND) throw Error(fmt::format("{}: not a compound dataset", where(d)));
    Handle space(H5Dget_space(d));
    const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space));
    check_read_size(d, checked_bytes(n, std::max<std::size_t>(H5Tget_size(type), sizeof(std::string))));
    RecordArray rec;
    rec.n = static_cast<std::int64_t>(n);
    const int n_members = H5Tget_nmembers(type);
    // libhdf5 1.10 converts a field that lies outside its record from past the end of the
    // buffer (H5T__conv_struct_opt): the fields are checked against the record first
    const std::size_t record = H5Tget_size(type);
    bool strings_in_heap = false;
    for (int i = 0; i < n_members; ++i) {
        Handle mtype(H5Tget_member_type(type, static_cast<unsigned>(i)));
        const std::size_t offset = H5Tget_member_offset(type, static_cast<unsigned>(i)), size = H5Tget_size(mtype);
        if (!mtype.valid() || offset > record || size > record - offset)
            throw Error(fmt::format("{}: field {} lies outside its {}-byte record (offset {}, {} bytes) (damaged file?)", where(d), i,
                                    record, offset, size));
        strings_in_heap = strings_in_heap || (H5Tget_class(mtype) == H5T_STRING && H5Tis_variable_str(mtype) > 0);
    }
    if (strings_in_heap) check_vlen_heap(d, true); // the heap behind string fields, as for string datasets
    for (int i = 0; i < n_members; ++i) {
        char* raw_name = H5Tget_member_name(type, static_cast<unsigned>(i));
        const std::string name = raw_name;
        H5free_memory(raw_name);
        const auto what = fmt::format("{} field '{}'", where(d), name);
        Handle mtype(H5Tget_member_type(type, static_cast<unsigned>(i)));
        if (H5Tget_class(mtype) == H5T_STRING) {
            StringArray strings;
            strings.shape = {rec.n};
            const bool vlen = H5Tis_variable_str(mtype) > 0;
            const std::size_t len = vlen ? sizeof(char*) : H5Tget_size(mtype);
            Handle str(H5Tcopy(H5T_C_S1));
            H5Tset_size(str, vlen ? H5T_VARIABLE : len);
            if (!vlen) H5Tset_strpad(str, H5T_STR_NULLPAD);
            H5Tset_cset(str, H5Tget_cset(mtype));
            Handle mem(H5Tcreate(H5T_COMPOUND, len));
            H5Tinsert(mem, name.c_str(), 0, str);
            std::vector<char> buf(len * std::max<std::size_t>(n, 1));
            struct Reclaim { // frees libhdf5's strings on every path (the buffer starts zeroed)
                hid_t mem, space;
                std::vector<char>& buf;
                bool vlen;
                ~Reclaim() {
                    if (vlen) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buf.data());
                }
            } reclaim{mem, space, buf, vlen && n > 0};
            check(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), what + ": cannot read");
            for (std::size_t r = 0; r < n; ++r) {
                if (vlen) {
                    char* p = nullptr;
                    std::memcpy(&p, buf.data() + r * len, sizeof p);
                    strings.values.emplace_back(p ? p : "");
                } else {
                    const char* p = buf.data() + r * len;
                    strings.values.emplace_back(p, strnlen(p, len));
                }
            }
            rec.fields.emplace_back(name, std::move(strings));
            continue;
        }
        // numeric, possibly a fixed-size sub-array (anndata 0.6 obsm fields)
        std::vector<std::int64_t> shape{rec.n};
        Handle base;
        if (H5Tget_class(mtype) == H5T_ARRAY) {
            const int rank = H5Tget_array_ndims(mtype);
            std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
            H5Tget_array_dims2(mtype, dims.data());
            for (auto dim : dims) shape.push_back(static_cast<std::int64_t>(dim));
            base = Handle(H5Tget_super(mtype));
        } else {
            base = Handle(H5Tcopy(mtype));
        }
        const DType dt = dtype_of_type(base, what);
        NdArray a = NdArray::zeros(dt, shape);
        const std::size_t row_bytes = static_cast<std::size_t>(a.size() / std::max<std::int64_t>(rec.n, 1)) * dtype_size(dt);
        Handle field_type;
        if (shape.size() > 1) {
            std::vector<hsize_t> dims(shape.begin() + 1, shape.end());
            field_type = Handle(H5Tarray_create2(native_type(dt), static_cast<unsigned>(dims.size()), dims.data()));
        } else {
            field_type = Handle(H5Tcopy(native_type(dt)));
        }
        Handle mem(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(row_bytes, 1)));
        H5Tinsert(mem, name.c_str(), 0, field_type);
        if (n > 0) check(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.bytes.data()), what + ": cannot read");
        rec.fields.emplace_back(name, std::move(a));
    }
    return rec;
}

void write_compound(hid_t loc, const std::string& name, const RecordArray& r, const WriteSettings& s) {
    // Packed layout: numeric fields in their dtype, strings as variable-length pointers.
    std::vector<std::size_t> offsets;
    std::size_t row = 0;
    Handle str = vlen_utf8();
    std::vector<Handle> field_types;
    for (const auto& [fname, f] : r.fields) {
        offsets.push_back(row);
        if (const auto* a = std::get_if<NdArray>(&f)) {
            if (a->shape.empty() || a->shape[0] != r.n)
                throw Error(fmt::format("{}/{}: field '{}' has the wrong length", where(loc), name, fname));
            if (a->shape.size() > 1) {
                std::vector<hsize_t> dims(a->shape.begin() + 1, a->shape.end());
                field_types.emplace_back(H5Tarray_create2(native_type(a->dtype), static_cast<unsigned>(dims.size()), dims.data()));
            } else {
                field_types.emplace_back(H5Tcopy(native_type(a->dtype)));
            }
        } else {
            if (static_cast<std::int64_t>(std::get<StringArray>(f).values.size()) != r.n)
                throw Error(fmt::format("{}/{}: field '{}' has the wrong length", where(loc), name, fname));
            field_types.emplace_back(H5Tcopy(str));
        }
        row += H5Tget_size(field_types.back());
    }
    Handle type(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(row, 1)));
    for (std::size_t i = 0; i < r.fields.size(); ++i) H5Tinsert(type, r.fields[i].first.c_str(), offsets[i], field_types[i]);
    std::vector<char> buf(row * static_cast<std::size_t>(std::max<std::int64_t>(r.n, 1)));
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
        const auto size = H5Tget_size(field_types[i]);
        for (std::int64_t k = 0; k < r.n; ++k) {
            char* dst = buf.data() + static_cast<std::size_t>(k) * row + offsets[i];
            if (const auto* a = std::get_if<NdArray>(&r.fields[i].second)) {
                std::memcpy(dst, a->bytes.data() + static_cast<std::size_t>(k) * size, size);
            } else {
                const char* p = std::get<StringArray>(r.fields[i].second).values[static_cast<std::size_t>(k)].c_str();
                std::memcpy(dst, &p, sizeof p);
            }
        }
    }
    const hsize_t dim = static_cast<hsize_t>(r.n);
    Handle space(H5Screate_simple(1, &dim, nullptr));
    Handle dcpl = untimed_dcpl();
    if (s.gzip_level > 0 && r.n > 0) {
        const hsize_t chunk = std::min<hsize_t>(dim, 4096);
        H5Pset_chunk(dcpl, 1, &chunk);
        H5Pset_deflate(dcpl, static_cast<unsigned>(s.gzip_level));
    }
    Handle d(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (!d.valid()) throw Error(fmt::format("{}/{}: cannot create dataset ({})", where(loc), name, error_stack()));
    if (r.n > 0) check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), fmt::format("{}/{}: cannot write", where(loc), name));
}

} // namespace scx::h5
