#include "scextract/io/hdf5.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/little_endian.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/lzf_filter.hpp"

#include <algorithm>
#include <cmath>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <mutex>
#include <string_view>

#include <liblzf/lzf.h>

#include <zlib.h>

#include <fmt/format.h>

namespace scx::h5 {

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

template <class F> auto check(F result, const std::string& what) {
    if (result < 0) {
        const auto stack = error_stack();
        throw Error(stack.empty() ? what : fmt::format("{} ({})", what, stack));
    }
    return result;
}

} // namespace

std::string error_stack() {
    std::string out;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &out);
    H5Eclear2(H5E_DEFAULT);
    return out;
}

namespace {
void check_root_header(const std::string& path, std::span<const std::byte> image);

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

namespace {
/// where() of the child @p name of @p loc, before it is opened ("file:/obs", not "file://obs").
std::string where_child(hid_t loc, const std::string& name) {
    const auto parent = where(loc);
    return parent.ends_with('/') ? parent + name : parent + "/" + name;
}
} // namespace

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
void check_attribute_messages(hid_t obj);
void check_object_header(hid_t loc, unsigned long fileno, haddr_t addr, const std::function<std::string()>& what);
[[noreturn]] void object_header_unreadable(hid_t obj);

/// Checks the object @p name of @p loc links to before libhdf5 loads its header (which every
/// lookup by name does): the header's blocks must lie in the file - libhdf5 allocates a block's
/// declared size first (a damaged 4-byte size asked for 3 GB) - and its messages must decode
/// (check_object_header). A link to another file (an external link) is refused: scextract never
/// opens paths a file names.
void check_linked_header(hid_t loc, const std::string& name) {
    H5L_info_t link;
    if (H5Lget_info(loc, name.c_str(), &link, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return; // no such link: the lookup that follows says so
    }
    if (link.type == H5L_TYPE_EXTERNAL)
        throw Error(fmt::format("{}: is a link to another file, which scextract does not follow", where_child(loc, name)));
    if (link.type != H5L_TYPE_HARD) return; // a soft link resolves to a hard link checked when reached
    H5O_info_t here;
    if (H5Oget_info2(loc, &here, H5O_INFO_BASIC) < 0) object_header_unreadable(loc);
    check_object_header(loc, here.fileno, link.u.address, [&] { return where_child(loc, name); });
}

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
        throw Error(fmt::format("{}: keeps its data in external files, which scextract does not follow", where(dset)));
    if (H5Pget_layout(dcpl) == H5D_COMPACT) { // libhdf5 1.10 copies the elements from the message, however few it holds
        Handle space(H5Dget_space(dset));
        Handle type(H5Dget_type(dset));
        const auto n = static_cast<std::uint64_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0));
        const std::uint64_t need = checked_bytes(n, H5Tget_size(type)), held = H5Dget_storage_size(dset);
        if (held < need)
            throw Error(fmt::format("{}: its data is stored in its header as {} bytes, but {} elements need {}; damaged file?",
                                    where(dset), held, n, need));
    }
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) { // libhdf5 1.10 reads a scalar with rank-1 chunks for ever, allocating
        Handle space(H5Dget_space(dset));
        hsize_t dims[H5S_MAX_RANK] = {};
        const int chunk_rank = H5Pget_chunk(dcpl, H5S_MAX_RANK, dims), data_rank = H5Sget_simple_extent_ndims(space);
        if (chunk_rank != data_rank)
            throw Error(fmt::format("{}: its chunks have {} dimensions but its data has {}; damaged file?", where(dset), chunk_rank,
                                    data_rank));
    }
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL)
        throw Error(fmt::format("{}: is a virtual dataset (its data lives in other files), which scextract does not follow", where(dset)));
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

// ---- variable-length strings: the global heap checked before libhdf5 reads it ----
//
// libhdf5 1.10 trusts the global heap ("GCOL" collections, where variable-length strings
// live): an object index past the collection's objects, an object running past its
// collection or a collection size that does not match its objects makes H5HG_read copy
// from a null or wild pointer (SIGSEGV inside H5Dread), and a heap object longer than the
// length in the dataset overruns the buffer libhdf5 allocated for it. So before a vlen
// dataset is read, its raw heap ids (length, collection address, object index) are taken
// from the file (contiguous) or the raw chunks (H5Dread_chunk; none, deflate, shuffle, LZF),
// and every collection they name is parsed here the way libhdf5 parses it and checked.
// Variable-length string *attributes* (encoding-type etc.) keep their heap ids in the object
// header, which the API does not expose raw: the header's messages are walked here (versions 1
// and 2, continuation blocks) to find them. Attributes in dense storage (a fractal heap), compact
// datasets and other filters are left to libhdf5.
//
// The same walk over an object's header checks every message libhdf5 would decode past its
// end (attribute names, datatypes, dataspaces: check_header_messages) before a dataset is
// opened or an attribute looked up.

struct HeapObject {
    std::uint64_t size = 0;
    bool present = false;
};

/// Reads an HDF5 file's own bytes (the file, or the image of an in-memory one) to check the
/// structures libhdf5 1.10 trusts before it is asked to read them.
class RawHdf5Check {
public:
    /// @p what names the strings in messages (default: the dataset's path).
    explicit RawHdf5Check(hid_t dset, std::string what = {}) : what_(std::move(what)) {
        if (what_.empty()) what_ = where(dset);
        Handle file(H5Iget_file_id(dset));
        Handle fcpl(H5Fget_create_plist(file));
        hsize_t userblock = 0;
        if (H5Pget_sizes(fcpl, &sizeof_addr_, &sizeof_size_) < 0 || H5Pget_userblock(fcpl, &userblock) < 0)
            throw Error(fmt::format("{}: {}", where(dset), error_stack()));
        base_ = userblock; // addresses count from the superblock, which follows the user block
        hsize_t size = 0;
        H5Fget_filesize(file, &size);
        file_size_ = size;
        Handle fapl(H5Fget_access_plist(file));
        if (H5Pget_driver(fapl) == H5FD_CORE) { // an in-memory image (read_h5ad_image): copied once per open file
            H5O_info_t info;
            const bool known = H5Oget_info2(dset, &info, H5O_INFO_BASIC) >= 0;
            // file serial numbers are never reused within a process, and a read-only image never changes
            thread_local std::pair<unsigned long, std::shared_ptr<const std::string>> last;
            if (!known || last.first != info.fileno || !last.second) {
                H5Eclear2(H5E_DEFAULT);
                const ssize_t n = H5Fget_file_image(file, nullptr, 0);
                auto image = std::make_shared<std::string>(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
                if (n <= 0 || H5Fget_file_image(file, image->data(), image->size()) != n) fail("cannot read the file image to check it");
                last = {known ? info.fileno : 0, std::move(image)};
            }
            owner_ = last.second;
            image_ = *owner_;
            in_memory_ = true;
            file_size_ = image_.size();
            return;
        }
        unsigned intent = 0;
        if (H5Fget_intent(file, &intent) >= 0 && (intent & H5F_ACC_RDWR) && H5Fflush(file, H5F_SCOPE_LOCAL) < 0)
            fail("cannot flush the file to check its strings"); // a file being amended: its metadata cache first
        // the file's own name (an output being written is still its temporary), not file_name()'s
        const ssize_t n = H5Fget_name(file, nullptr, 0);
        std::string path(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
        if (n > 0) H5Fget_name(file, path.data(), path.size() + 1);
        file_ = std::fopen(path.c_str(), "rb");
        if (!file_) fail("cannot reopen the file to check its strings");
    }
    /// A file libhdf5 has not opened yet: its bytes @p image where it is in memory, else the file
    /// at @p path. Address and length sizes come from its superblock (root_header()).
    RawHdf5Check(std::string what, const std::string& path, std::span<const std::byte> image) : what_(std::move(what)) {
        if (!image.empty()) {
            image_ = std::string_view(reinterpret_cast<const char*>(image.data()), image.size());
            in_memory_ = true;
            file_size_ = image.size();
            return;
        }
        std::error_code ec;
        file_size_ = std::filesystem::file_size(path, ec);
        file_ = std::fopen(path.c_str(), "rb");
        if (ec || !file_) fail("cannot read the file");
    }
    ~RawHdf5Check() {
        if (file_) std::fclose(file_);
    }

    /// The root group's object header address from the superblock (looked for at 0, 512, 1024 and
    /// on, as libhdf5 does), setting the address and length sizes; nullopt where this walk cannot
    /// follow (no superblock, which libhdf5 refuses itself; sizes over 8 bytes; a base address).
    std::optional<std::uint64_t> root_header() {
        static constexpr std::string_view kSignature("\x89HDF\r\n\x1a\n", 8);
        for (std::uint64_t at = 0; at + 16 <= file_size_; at = at ? at * 2 : 512) {
            base_ = 0;
            if (read_at(at, 8) != kSignature) continue;
            // libhdf5 counts every address from where it found the superblock, whatever base
            // address the superblock stores (H5F__super_read replaces it)
            base_ = at;
            const auto version = static_cast<unsigned char>(read_at(8, 1)[0]);
            const auto sizes = read_at(version <= 1 ? 13 : 9, 2);
            const std::size_t addr = static_cast<unsigned char>(sizes[0]), len = static_cast<unsigned char>(sizes[1]);
            if (version > 3 || addr == 0 || addr > 8 || len == 0 || len > 8) return std::nullopt;
            sizeof_addr_ = addr;
            sizeof_size_ = len;
            // version 0/1: base, free space, end of file, driver info, root entry (name offset, header);
            // version 2/3: base, superblock extension, end of file, root header
            const std::uint64_t base_at = version == 0 ? 24 : version == 1 ? 28 : 12;
            const std::uint64_t root_at = base_at + addr * (version <= 1 ? 5 : 3);
            const auto field = [&](std::uint64_t pos) {
                return load_le(reinterpret_cast<const unsigned char*>(read_at(pos, addr).data()), addr);
            };
            // version 0/1: the root entry may cache the root's symbol table (cache type 1), which
            // libhdf5 uses when the root's own message is damaged
            const auto cache_type = read_at(root_at + addr, 4);
            if (version <= 1 && load_le(reinterpret_cast<const unsigned char*>(cache_type.data()), 4) == 1)
                check_symbol_table(field(root_at + addr + 8), field(root_at + addr + 8 + addr));
            return field(root_at);
        }
        return std::nullopt;
    }
    RawHdf5Check(const RawHdf5Check&) = delete;
    RawHdf5Check& operator=(const RawHdf5Check&) = delete;

    /// Where the file's addresses count from (the superblock's offset: a user block precedes it).
    [[nodiscard]] std::uint64_t base() const { return base_; }

    /// @p n bytes of the file at address @p offset (from base()); refused when they run past its end.
    std::string read_at(std::uint64_t offset, std::uint64_t n) const {
        if (offset > addressable() || n > addressable() - offset)
            fail(fmt::format("{} bytes at {} run past the end of the file ({} bytes)", n, offset, file_size_));
        offset += base_;
        if (in_memory_) return std::string(image_.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(n)));
        std::string buf(n, '\0');
        const bool ok = std::fseek(file_, static_cast<long>(offset), SEEK_SET) == 0 && std::fread(buf.data(), 1, n, file_) == n;
        if (!ok) fail(fmt::format("cannot read {} bytes at {}", n, offset));
        return buf;
    }

    /// Checks every heap id of @p n_elems elements stored in @p raw (the file's encoding).
    void check_ids(const unsigned char* raw, std::size_t n_elems) {
        for (std::size_t i = 0; i < n_elems; ++i) {
            const unsigned char* p = raw + i * id_size();
            const std::uint64_t len = load_le(p, 4), addr = load_le(p + 4, sizeof_addr_), idx = load_le(p + 4 + sizeof_addr_, 4);
            // libhdf5 treats a string as null, and leaves the heap alone, only when its address
            // is 0 (H5F__blob_get): a zero length with an address still reads the heap object
            if (addr == 0) continue;
            const auto& objects = collection(addr);
            if (idx == 0 || idx >= objects.size() || !objects[idx].present)
                fail(fmt::format("string {} names object {} of the global heap at {}, which has no such object", done_ + i, idx, addr));
            if (objects[idx].size != len)
                fail(fmt::format("string {} is {} bytes long but its heap object holds {}", done_ + i, len, objects[idx].size));
        }
        done_ += n_elems;
    }

    [[nodiscard]] std::size_t id_size() const { return 4 + sizeof_addr_ + 4; }

    /// Calls @p fn(type, flags, message, size) for each message of the object header at @p header
    /// (versions 1 and 2, continuation blocks followed) until it returns true; false where the
    /// header is of a version this walk does not know. Attributes in dense storage (a fractal
    /// heap) are not messages of the header and are not visited.
    template <class Fn> bool for_each_message(std::uint64_t header, Fn&& fn) {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> blocks; // (start of messages, end)
        std::set<std::uint64_t> seen;
        const auto first = read_at(header, 16);
        const auto* h = reinterpret_cast<const unsigned char*>(first.data());
        bool v2 = false;
        unsigned hflags = 0; // version 2: bit 2 puts a creation-order field in every message
        if (h[0] == 1) {
            blocks.emplace_back(header + 16, header + 16 + load_le(h + 8, 4));
        } else if (first.compare(0, 4, "OHDR") == 0 && h[4] == 2) {
            v2 = true;
            const unsigned flags = hflags = h[5];
            std::uint64_t at = header + 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
            const std::size_t width = std::size_t{1} << (flags & 3);
            const auto size_field = read_at(at, width);
            const std::uint64_t size = load_le(reinterpret_cast<const unsigned char*>(size_field.data()), width);
            blocks.emplace_back(at + width, at + width + size);
        } else {
            return false;
        }
        const std::size_t msg_header = v2 ? 4 : 8;
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            if (blocks.size() > 1024) fail("an object header of more than 1024 continuation blocks");
            const auto [start, end] = blocks[b];
            if (end < start || end - start > (std::uint64_t{1} << 26)) fail(fmt::format("an object header block of {} bytes", end - start));
            const auto block = read_at(start, end - start);
            const auto* c = reinterpret_cast<const unsigned char*>(block.data());
            std::uint64_t p = 0;
            while (p + msg_header <= block.size()) {
                const std::uint64_t type = v2 ? c[p] : load_le(c + p, 2);
                const std::uint64_t size = v2 ? load_le(c + p + 1, 2) : load_le(c + p + 2, 2);
                const unsigned flags = v2 ? c[p + 3] : c[p + 4];
                const std::uint64_t data = p + msg_header + ((v2 && (hflags & 0x04)) ? 2 : 0);
                if (data + size > block.size()) fail(fmt::format("an object header message runs past its block at {}", start));
                const unsigned char* m = c + data;
                if (type == 0x10) { // continuation: libhdf5 decodes its address and length whatever size it declares
                    if (data + sizeof_addr_ + sizeof_size_ > block.size())
                        fail(fmt::format("an object header continuation runs past its block at {}", start));
                    std::uint64_t at = load_le(m, sizeof_addr_), len = load_le(m + sizeof_addr_, sizeof_size_);
                    if (!seen.insert(at).second) fail("an object header whose continuation blocks form a cycle");
                    if (v2) { // "OCHK" signature before, checksum after
                        if (len < 8) fail("an object header continuation block too short");
                        at += 4;
                        len -= 8;
                    }
                    blocks.emplace_back(at, at + len);
                } else if (fn(static_cast<unsigned>(type), flags, m, size)) {
                    return true;
                }
                p = data + size;
            }
        }
        return true;
    }

    /// Refuses the messages of the object header at @p header that libhdf5 1.10 would decode past
    /// their end: it copies attribute names and the member names of compound and enum types with
    /// strdup, and takes member counts, tag lengths and ranks from the message without comparing
    /// them with its size (H5O_attr_decode, H5O_dtype_decode_helper, H5O_sdspace_decode), whenever
    /// a dataset is opened or any attribute of the object is looked up (H5Aexists, H5Aopen).
    void check_header_messages(std::uint64_t header) {
        std::optional<ChunkIndex> chunks;
        int n_filters = 0; // -1: not known
        for_each_message(header, [&](unsigned type, unsigned flags, const unsigned char* m, std::uint64_t size) {
            // a shared message is a reference to one stored elsewhere - for the sharable types only:
            // libhdf5 decodes any other message as it is, whatever its flags say
            const bool sharable = type == 0x01 || type == 0x03 || type == 0x05 || type == 0x0B || type == 0x0C;
            if (sharable && (flags & 0x02)) {
                if (type == 0x0B) n_filters = -1; // a filter pipeline kept elsewhere: chunk sizes unknown
                return false;
            }
            if (type == 0x0C) check_attribute_message(m, size);
            else if (type == 0x03) check_datatype(m, size, 0);
            else if (type == 0x01) check_dataspace(m, size);
            else if (type == 0x11) check_symbol_table_message(m, size);
            else if (type == 0x02 || type == 0x15) check_index_message(m, size, type == 0x02 ? 8 : 2);
            else if (type == 0x08) check_layout_message(m, size, chunks);
            else if (type == 0x06) check_link_message(m, size);
            else if (type == 0x0B) n_filters = pipeline_filters(m, size);
            return false;
        });
        if (chunks) check_chunk_index(*chunks, n_filters);
    }

    /// The stored value (@p bytes bytes) of attribute @p name in the object header at @p header,
    /// or nullopt where the header keeps it out of reach of this walk (dense attribute storage, a
    /// header version it does not know): the read is then left to libhdf5 as before.
    std::optional<std::string> attribute_value(std::uint64_t header, const std::string& name, std::uint64_t bytes) {
        std::optional<std::string> value;
        bool unknown = false;
        for_each_message(header, [&](unsigned type, unsigned, const unsigned char* m, std::uint64_t size) {
            if (type != 0x0C || size < 8) return false;
            const unsigned version = m[0];
            if (version < 1 || version > 3) return unknown = true;
            const std::uint64_t name_size = load_le(m + 2, 2), dt_size = load_le(m + 4, 2), ds_size = load_le(m + 6, 2);
            const auto pad = [&](std::uint64_t n) { return version == 1 ? (n + 7) & ~std::uint64_t{7} : n; };
            const std::uint64_t name_at = version == 3 ? 9 : 8;
            if (name_at + name_size > size) fail("an attribute message shorter than its name");
            const std::string found(reinterpret_cast<const char*>(m + name_at), name_size ? name_size - 1 : 0);
            if (found != name) return false;
            const std::uint64_t value_at = name_at + pad(name_size) + pad(dt_size) + pad(ds_size);
            if (value_at > size || bytes > size - value_at)
                fail(fmt::format("attribute '{}' holds {} bytes for {} bytes of strings", name, value_at > size ? 0 : size - value_at,
                                 bytes));
            value = std::string(reinterpret_cast<const char*>(m + value_at), bytes);
            return true;
        });
        if (unknown) return std::nullopt;
        return value; // nullopt in dense storage (or not found): left to libhdf5
    }

private:
    /// The structure at @p addr must begin with @p signature ("TREE", "HEAP", "BTHD", "FRHP"):
    /// libhdf5 1.10 follows these addresses from a group's messages and copies from wherever they
    /// point (a link-info message pointing off its B-tree crashed it in H5B2_open).
    void expect_signature(std::uint64_t addr, const char* signature, const char* what) {
        if (addr == undefined_address()) return;
        if (read_at(addr, 4) != signature)
            fail(fmt::format("{} at {} is not there (no '{}' signature)", what, addr, signature));
    }

    /// The bytes addresses can reach: the file after base().
    [[nodiscard]] std::uint64_t addressable() const { return file_size_ > base_ ? file_size_ - base_ : 0; }

    [[nodiscard]] std::uint64_t undefined_address() const {
        return sizeof_addr_ >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * sizeof_addr_)) - 1;
    }

    /// An old-style group's symbol table: its B-tree and local heap.
    void check_symbol_table_message(const unsigned char* m, std::uint64_t size) {
        if (size < 2 * sizeof_addr_) fail("a symbol-table message of " + std::to_string(size) + " bytes");
        check_symbol_table(load_le(m, sizeof_addr_), load_le(m + sizeof_addr_, sizeof_addr_));
    }

    /// A symbol table's B-tree and local heap, both required (libhdf5 falls back on the
    /// superblock's cached copy of the root's when its message lacks them, and crashed on that).
    void check_symbol_table(std::uint64_t tree, std::uint64_t heap) {
        if (tree == undefined_address() || heap == undefined_address()) fail("a group's symbol table without its B-tree or heap");
        expect_signature(tree, "TREE", "a group's B-tree");
        expect_signature(heap, "HEAP", "a group's local heap");
        check_local_heap(heap);
    }

    /// A local heap (a group's link names): its data segment must lie in the file, and its free
    /// list must stay inside the segment and end. libhdf5 1.10 follows the list without looking
    /// for a cycle, allocating a node per step (a looped list took 14 GB in seconds).
    void check_local_heap(std::uint64_t addr) {
        const auto head = read_at(addr, 8 + 2 * sizeof_size_ + sizeof_addr_);
        const auto* h = reinterpret_cast<const unsigned char*>(head.data());
        if (h[4] != 0) return; // a version libhdf5 refuses itself
        const std::uint64_t data_size = load_le(h + 8, sizeof_size_), first_free = load_le(h + 8 + sizeof_size_, sizeof_size_);
        const std::uint64_t data_addr = load_le(h + 8 + 2 * sizeof_size_, sizeof_addr_);
        const std::uint64_t header_end = addr + head.size();
        if (data_addr < header_end && data_addr + data_size > addr) // libhdf5 would cache the same bytes twice
            fail(fmt::format("the local heap at {} keeps its data over its own header (at {})", addr, data_addr));
        const auto data = read_at(data_addr, data_size); // refused past the end of the file
        constexpr std::uint64_t kNoFreeBlock = 1;          // H5HL_FREE_NULL
        std::set<std::uint64_t> seen;
        for (std::uint64_t at = first_free; at != kNoFreeBlock;) {
            if (at > data_size || 2 * sizeof_size_ > data_size - at)
                fail(fmt::format("the local heap at {} has a free block at {}, outside its {} bytes", addr, at, data_size));
            if (!seen.insert(at).second) fail(fmt::format("the local heap at {} has a free list that loops", addr));
            at = load_le(reinterpret_cast<const unsigned char*>(data.data()) + at, sizeof_size_);
        }
    }

    /// A new-style group's link info (0x02) or an object's attribute info (0x15): a fractal heap
    /// and one or two version 2 B-trees, after a maximum creation index of @p index_bytes bytes
    /// when flag bit 0 is set.
    void check_index_message(const unsigned char* m, std::uint64_t size, std::uint64_t index_bytes) {
        if (size < 2 || m[0] != 0) return; // a version libhdf5 refuses itself
        const unsigned flags = m[1];
        std::uint64_t at = 2 + ((flags & 1) ? index_bytes : 0);
        const std::uint64_t n_addr = (flags & 2) ? 3 : 2;
        if (at + n_addr * sizeof_addr_ > size) fail("a link or attribute info message shorter than its addresses");
        expect_signature(load_le(m + at, sizeof_addr_), "FRHP", "a fractal heap");
        for (std::uint64_t i = 1; i < n_addr; ++i) expect_signature(load_le(m + at + i * sizeof_addr_, sizeof_addr_), "BTHD", "a B-tree");
    }

    /// A chunked layout's chunk dimensions: libhdf5 divides by them when it opens the dataset
    /// (H5D__chunk_set_info: a zero dimension was a SIGFPE in the tenx_h5 fuzzer).
    /// What a version 1-3 chunked layout says of its chunk index (a version 1 B-tree).
    struct ChunkIndex {
        std::uint64_t btree = 0;
        std::vector<std::uint64_t> dims; // the chunk's, the last being the element's size in bytes
    };

    void check_layout_message(const unsigned char* m, std::uint64_t size, std::optional<ChunkIndex>& index) {
        const unsigned version = size > 0 ? m[0] : 0;
        std::uint64_t at = 0, n_dims = 0, width = 4;
        if (version == 1 || version == 2) {
            if (size < 8 || m[2] != 2) return; // not chunked
            n_dims = m[1];
            at = 8 + sizeof_addr_;
        } else if (version == 3) {
            if (size >= 2 && m[1] == 0) { // compact: the elements follow in the message, as many bytes as it says
                if (size < 4 || load_le(m + 2, 2) > size - 4) fail("a compact layout message shorter than its data");
                return;
            }
            if (size >= 2 && m[1] == 1) { // contiguous: the data's address and size must lie in the file
                if (2 + sizeof_addr_ + sizeof_size_ > size) fail("a contiguous layout message too short for its address");
                const std::uint64_t data = load_le(m + 2, sizeof_addr_), bytes = load_le(m + 2 + sizeof_addr_, sizeof_size_);
                if (data != undefined_address() && (data > addressable() || bytes > addressable() - data))
                    fail(fmt::format("a dataset whose {} bytes at {} run past the end of the file ({} bytes)", bytes, data, file_size_));
                return;
            }
            if (size < 3 || m[1] != 2) return;
            n_dims = m[2];
            at = 3 + sizeof_addr_;
        } else if (version == 4) {
            if (size < 5 || m[1] != 2) return;
            n_dims = m[3];
            width = m[4];
            at = 5;
            if (width < 1 || width > 8) fail("a chunked layout whose dimensions take " + std::to_string(width) + " bytes");
        } else {
            return; // a version libhdf5 refuses itself
        }
        if (n_dims > 33) fail("a chunked layout of " + std::to_string(n_dims) + " dimensions");
        if (at + n_dims * width > size) fail("a layout message shorter than its chunk dimensions");
        for (std::uint64_t i = 0; i < n_dims; ++i)
            if (load_le(m + at + i * width, width) == 0) fail("a chunked layout with a chunk dimension of 0");
        if (version <= 3) { // the B-tree's address comes just before the dimensions
            index = ChunkIndex{load_le(m + at - sizeof_addr_, sizeof_addr_), {}};
            for (std::uint64_t i = 0; i < n_dims; ++i) index->dims.push_back(load_le(m + at + i * width, width));
        }
    }

    /// The number of filters of a filter pipeline message (versions 1 and 2).
    static int pipeline_filters(const unsigned char* m, std::uint64_t size) {
        return size >= 2 && (m[0] == 1 || m[0] == 2) ? m[1] : 0;
    }

    /// The version 1 B-tree that indexes a chunked dataset's chunks (layouts 1-3), walked as
    /// libhdf5 walks it to read them: nodes where their parent says, one level down each step,
    /// never twice; every chunk inside the file at a chunk boundary; an unfiltered chunk exactly
    /// one chunk long. libhdf5 1.10 copies a raw chunk by the length the tree gives (a chunk of
    /// 0 bytes made H5Dread read past an 8-byte buffer).
    void check_chunk_index(const ChunkIndex& index, int n_filters) {
        if (index.btree == undefined_address()) return; // nothing written yet
        const std::size_t n_dims = index.dims.size();
        std::uint64_t chunk_bytes = 1;
        for (const auto d : index.dims) {
            if (d > (std::uint64_t{1} << 32) / chunk_bytes) fail("a chunk of more than 4 GiB"); // the tree holds 32-bit sizes
            chunk_bytes *= d;
        }
        const std::uint64_t all_filters = n_filters >= 32 ? 0xffffffffu : (std::uint64_t{1} << std::max(n_filters, 0)) - 1;
        const std::uint64_t key = 8 + 8 * n_dims, entry = key + sizeof_addr_;
        std::set<std::uint64_t> seen;
        std::vector<std::pair<std::uint64_t, int>> todo{{index.btree, -1}}; // (node, level its parent expects)
        while (!todo.empty()) {
            const auto [node, expected] = todo.back();
            todo.pop_back();
            if (!seen.insert(node).second) fail(fmt::format("a chunk B-tree that reaches its node at {} twice", node));
            const std::uint64_t head_size = 8 + 2 * sizeof_addr_;
            const auto head = read_at(node, head_size);
            const auto* h = reinterpret_cast<const unsigned char*>(head.data());
            if (head.compare(0, 4, "TREE") != 0 || h[4] != 1) fail(fmt::format("no chunk B-tree node at {}", node));
            const int level = h[5];
            if (expected >= 0 && level != expected)
                fail(fmt::format("a chunk B-tree node at {} of level {} under a node of level {}", node, level, expected + 1));
            const std::uint64_t entries = load_le(h + 6, 2);
            const auto body = read_at(node + head_size, entries * entry + key);
            const auto* b = reinterpret_cast<const unsigned char*>(body.data());
            std::vector<std::uint64_t> children;
            for (std::uint64_t i = 0; i < entries; ++i) {
                const unsigned char* k = b + i * entry;
                const std::uint64_t child = load_le(k + key, sizeof_addr_);
                if (level > 0) {
                    children.push_back(child);
                    continue;
                }
                const std::uint64_t bytes = load_le(k, 4), mask = load_le(k + 4, 4);
                if (bytes == 0) fail(fmt::format("an empty chunk at {}", child));
                if (child > addressable() || bytes > addressable() - child)
                    fail(fmt::format("a chunk of {} bytes at {}, outside the file ({} bytes)", bytes, child, file_size_));
                if (n_filters >= 0 && (mask & all_filters) == all_filters && bytes != chunk_bytes)
                    fail(fmt::format("an unfiltered chunk of {} bytes where a chunk holds {}", bytes, chunk_bytes));
                for (std::size_t d = 0; d < n_dims; ++d) {
                    const std::uint64_t offset = load_le(k + 8 + 8 * d, 8);
                    if (d + 1 < n_dims ? offset % index.dims[d] != 0 : offset != 0)
                        fail(fmt::format("a chunk at offset {} of dimension {}, off the chunk grid", offset, d));
                }
            }
            for (auto c = children.rbegin(); c != children.rend(); ++c) todo.emplace_back(*c, level - 1); // first child next
        }
    }

    /// A link of a new-style compact group: every field inside the message (libhdf5 1.10 copies
    /// the name and the link value by the lengths they declare; a damaged one crashed in free).
    void check_link_message(const unsigned char* m, std::uint64_t size) {
        // anything libhdf5 would fail to decode is refused here: a compact group sizes its link
        // table by the link messages it counted, and one that fails leaves an entry it frees anyway
        if (size < 2 || m[0] != 1) fail("a link message of an unknown version");
        const unsigned flags = m[1];
        if (flags & ~0x1fu) fail("a link message with unknown flags");
        std::uint64_t at = 2;
        const auto need = [&](std::uint64_t n) {
            if (n > size || at > size - n) fail("a link message shorter than its fields");
        };
        unsigned link_type = 0; // hard
        if (flags & 0x08) {
            need(1);
            link_type = m[at++];
            if (link_type > 1 && link_type < 64) fail("a link of an unknown type");
        }
        if (flags & 0x04) at += 8; // creation order
        if (flags & 0x10) at += 1; // character set
        const std::uint64_t width = std::uint64_t{1} << (flags & 3);
        need(width);
        const std::uint64_t name_length = load_le(m + at, width);
        at += width;
        if (name_length == 0) fail("a link with an empty name");
        need(name_length);
        at += name_length;
        if (link_type == 0) {
            need(sizeof_addr_);
        } else {
            need(2);
            const std::uint64_t value_length = load_le(m + at, 2);
            at += 2;
            need(value_length);
        }
    }

    void check_attribute_message(const unsigned char* m, std::uint64_t size) {
        const unsigned version = size > 0 ? m[0] : 0;
        if (version < 1 || version > 3) return; // libhdf5 refuses the message itself
        if (size < 8) fail("an attribute message of " + std::to_string(size) + " bytes");
        const unsigned shared = version >= 2 ? m[1] : 0; // bit 0: datatype, bit 1: dataspace
        const std::uint64_t name_size = load_le(m + 2, 2), dt_size = load_le(m + 4, 2), ds_size = load_le(m + 6, 2);
        const auto pad = [&](std::uint64_t n) { return version == 1 ? (n + 7) & ~std::uint64_t{7} : n; };
        const std::uint64_t name_at = version == 3 ? 9 : 8;
        if (name_at > size || name_size > size - name_at || !std::memchr(m + name_at, 0, name_size))
            fail("an attribute message whose name is not terminated within it");
        const std::uint64_t dt_at = name_at + pad(name_size), ds_at = dt_at + pad(dt_size);
        if (dt_at + dt_size > size || ds_at + ds_size > size) fail("an attribute message shorter than its parts");
        if (!(shared & 1)) check_datatype(m + dt_at, dt_size, 0);
        if (!(shared & 2)) check_dataspace(m + ds_at, ds_size);
    }

    /// The bytes the encoded datatype at @p p takes, refused where they run past @p n.
    std::uint64_t check_datatype(const unsigned char* p, std::uint64_t n, int depth) {
        const auto need = [&](std::uint64_t at) {
            if (at > n) fail("a datatype that runs past its message");
        };
        if (depth > 32) fail("a datatype nested more than 32 levels deep");
        need(8);
        const std::uint64_t flags = load_le(p, 4), size = load_le(p + 4, 4);
        const unsigned version = (flags >> 4) & 0x0f, cls = flags & 0x0f;
        const std::uint64_t bits = flags >> 8;
        if (version < 1 || version > 3) return n; // libhdf5 refuses it before reading further
        std::uint64_t at = 8;
        // member and enum names: NUL-terminated, padded to 8 bytes before version 3
        const auto name = [&] {
            need(at);
            const void* nul = std::memchr(p + at, 0, n - at);
            if (!nul) fail("a datatype member name not terminated within its message");
            const std::uint64_t len = static_cast<std::uint64_t>(static_cast<const unsigned char*>(nul) - (p + at));
            at += version >= 3 ? len + 1 : (len + 8) / 8 * 8;
            need(at);
        };
        // a number wider than 16 bytes, or a string of wider characters, is damage: libhdf5 sizes
        // its conversion buffers from these (a vlen string of 1.5 GB "characters" asked for 4.6 GB)
        if ((cls == 0 || cls == 1 || cls == 4) && (size == 0 || size > 16))
            fail(fmt::format("a datatype of {}-byte numbers", size));
        // the bit fields of a number must lie inside it: libhdf5's conversions copy bits by them
        // (a precision past the number's size was a SIGBUS in H5T__bit_copy, tenx_h5 fuzzer)
        if (cls == 0 || cls == 1 || cls == 4) {
            need(at + (cls == 1 ? 12 : 4));
            const std::uint64_t offset = load_le(p + at, 2), precision = load_le(p + at + 2, 2);
            bool ok = precision > 0 && offset + precision <= 8 * size;
            if (cls == 1) {
                const std::uint64_t epos = p[at + 4], esize = p[at + 5], mpos = p[at + 6], msize = p[at + 7];
                ok = ok && esize > 0 && msize > 0 && epos + esize <= precision && mpos + msize <= precision;
            }
            if (!ok) fail(fmt::format("a {}-byte number whose bit fields lie outside it", size));
        }
        switch (cls) {
        case 0: at += 4; break;   // integer: offset, precision
        case 1: at += 12; break;  // float
        case 2: at += 2; break;   // time
        case 3: case 7: break;    // string, reference
        case 4: at += 4; break;   // bitfield
        case 5: at += bits & 0xff; break; // opaque: its tag
        case 6: {                 // compound
            const std::uint64_t offset_bytes = std::uint64_t{std::bit_width(size) > 0 ? (std::bit_width(size) - 1) / 8 + 1 : 1};
            for (std::uint64_t i = 0, members = bits & 0xffff; i < members; ++i) {
                name();
                at += version >= 3 ? offset_bytes : 4;
                if (version == 1) at += 28; // dimensionality, permutation, reserved, 4 dimensions
                need(at);
                at += check_datatype(p + at, n - at, depth + 1);
            }
            break;
        }
        case 8: {                 // enum: base type, names, values
            need(at);
            const std::uint64_t base = check_datatype(p + at, n - at, depth + 1);
            const std::uint64_t value_size = load_le(p + at + 4, 4);
            // libhdf5 sizes an enum's value table by the enum's size and fills it by its base
            // type's (a 2-byte table read past in H5T_copy_reopen, h5ad fuzzer)
            if (value_size != size) fail(fmt::format("an enum of {} bytes whose values take {}", size, value_size));
            at += base;
            const std::uint64_t members = bits & 0xffff;
            for (std::uint64_t i = 0; i < members; ++i) name();
            if (value_size > 0 && members > (n - at) / value_size) fail("an enum datatype whose values run past its message");
            at += members * value_size;
            break;
        }
        case 9: { // vlen: base type, one byte per character for a string
            need(at + 8);
            const std::uint64_t base_size = load_le(p + at + 4, 4);
            if ((bits & 0x0f) == 1 && base_size != 1) fail(fmt::format("a variable-length string of {}-byte characters", base_size));
            at += check_datatype(p + at, n - at, depth + 1);
            break;
        }
        case 10: {                // array
            need(at + 1);
            const std::uint64_t dims = p[at];
            need(at + 1 + (version < 3 ? 3 : 0) + dims * 4);
            std::uint64_t elements = 1;
            for (std::uint64_t i = 0; i < dims; ++i) {
                const std::uint64_t d = load_le(p + at + 1 + (version < 3 ? 3 : 0) + 4 * i, 4);
                elements = d != 0 && elements > size / d ? size + 1 : elements * d;
            }
            at += 1 + (version < 3 ? 3 : 0) + dims * 4 * (version < 3 ? 2 : 1);
            need(at + 8);
            // the same for an array: its size is its elements' (H5T__conv_array copies by both)
            const std::uint64_t element_size = load_le(p + at + 4, 4);
            if (element_size == 0 || elements > size || elements * element_size != size)
                fail(fmt::format("an array of {} bytes whose elements take another size", size));
            at += check_datatype(p + at, n - at, depth + 1);
            break;
        }
        default: return n; // an unknown class: libhdf5 refuses it
        }
        need(at);
        return at;
    }

    void check_dataspace(const unsigned char* m, std::uint64_t size) {
        if (size < 3) fail("a dataspace message of " + std::to_string(size) + " bytes");
        const unsigned version = m[0], rank = m[1], flags = m[2];
        if (version < 1 || version > 2) return; // libhdf5 refuses the message itself
        const std::uint64_t dims = std::uint64_t{rank} * sizeof_size_ * ((flags & 1) ? 2 : 1);
        if ((version == 1 ? 8 : 4) + dims > size) fail("a dataspace message shorter than its rank of " + std::to_string(rank));
    }

    [[noreturn]] void fail(const std::string& why) const {
        throw Error(fmt::format("{}: {} (damaged file?)", what_, why));
    }

    /// The objects of the collection at @p addr, parsed as libhdf5's H5HG__cache_heap_deserialize does.
    const std::vector<HeapObject>& collection(std::uint64_t addr) {
        if (auto it = heaps_.find(addr); it != heaps_.end()) return it->second;
        const std::size_t header = 8 + sizeof_size_;
        const auto head = read_at(addr, header);
        const auto* h = reinterpret_cast<const unsigned char*>(head.data());
        if (head.compare(0, 4, "GCOL") != 0 || h[4] != 1) fail(fmt::format("no global heap collection at {}", addr));
        const std::uint64_t size = load_le(h + 8, sizeof_size_);
        if (size < header) fail(fmt::format("the global heap at {} declares {} bytes", addr, size));
        const auto body = read_at(addr, size);
        const auto* c = reinterpret_cast<const unsigned char*>(body.data());
        const std::size_t obj_header = 8 + sizeof_size_;
        std::vector<HeapObject> objects;
        std::uint64_t p = header;
        while (p < size) {
            if (p + obj_header > size) break; // too small for an object: free space
            const std::uint64_t idx = load_le(c + p, 2), obj_size = load_le(c + p + 8, sizeof_size_);
            // libhdf5 skips OBJHDR + the size aligned to 8 for objects, the raw size for free space (index 0)
            const std::uint64_t need = idx > 0 ? obj_header + ((obj_size + 7) & ~std::uint64_t{7}) : obj_size;
            if (obj_size > size || need > size - p)
                fail(fmt::format("object {} of the global heap at {} ({} bytes) runs past its collection of {} bytes", idx, addr,
                                 obj_size, size));
            if (idx > 0) {
                if (idx >= objects.size()) objects.resize(idx + 1);
                objects[idx] = {obj_size, true};
            }
            // libhdf5 parses the whole collection when it loads it, and never leaves a zero-sized
            // free-space object (it loops there for ever): refused, not merely skipped
            if (need == 0) fail(fmt::format("the global heap at {} holds an empty free-space object at {}", addr, p));
            p += need;
        }
        return heaps_.emplace(addr, std::move(objects)).first->second;
    }

    std::string what_;
    std::size_t sizeof_addr_ = 8, sizeof_size_ = 8;
    std::uint64_t file_size_ = 0;
    std::uint64_t base_ = 0;
    std::FILE* file_ = nullptr;
    bool in_memory_ = false;
    std::string_view image_;                   // the bytes of an in-memory file...
    std::shared_ptr<const std::string> owner_; // ...held here when copied from libhdf5
    std::size_t done_ = 0;
    std::map<std::uint64_t, std::vector<HeapObject>> heaps_;
};

/// Undoes HDF5's shuffle filter (byte planes) for elements of @p elem_size bytes.
std::vector<unsigned char> unshuffle(const std::vector<unsigned char>& in, std::size_t elem_size) {
    std::vector<unsigned char> out(in.size());
    const std::size_t n = in.size() / elem_size;
    for (std::size_t b = 0; b < elem_size; ++b)
        for (std::size_t i = 0; i < n; ++i) out[i * elem_size + b] = in[b * n + i];
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(n * elem_size), in.end(), out.begin() + static_cast<std::ptrdiff_t>(n * elem_size));
    return out;
}

/// Checks the global heap behind a variable-length string dataset (see above). Layouts this
/// cannot see into (compact, filters other than deflate / shuffle / LZF) are left to libhdf5.
void check_vlen_heap(hid_t dset) {
    Handle dcpl(H5Dget_create_plist(dset));
    Handle space(H5Dget_space(dset));
    const auto n = static_cast<std::uint64_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0));
    if (n == 0) return;
    RawHdf5Check heap(dset);
    const auto layout = H5Pget_layout(dcpl);
    if (layout == H5D_CONTIGUOUS) {
        const haddr_t offset = H5Dget_offset(dset);
        if (offset == HADDR_UNDEF) { // never written: all null strings
            H5Eclear2(H5E_DEFAULT);
            return;
        }
        H5Eclear2(H5E_DEFAULT);
        const auto bytes = checked_bytes(n, heap.id_size());
        if (offset < heap.base()) throw Error(fmt::format("{}: its strings lie before the file's superblock (damaged file?)", where(dset)));
        const auto raw = heap.read_at(offset - heap.base(), bytes); // H5Dget_offset counts from the file's start // refused when the strings run past the end of the file
        heap.check_ids(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<std::size_t>(n));
        return;
    }
    if (layout != H5D_CHUNKED) return;
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank != 1) return; // anndata's string arrays are 1-D
    enum class Step { deflate, shuffle, lzf };
    std::vector<Step> steps;
    for (int i = 0, nf = H5Pget_nfilters(dcpl); i < nf; ++i) {
        unsigned flags = 0;
        std::size_t n_cd = 0;
        const auto id = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &n_cd, nullptr, 0, nullptr, nullptr);
        if (id == H5Z_FILTER_DEFLATE) steps.push_back(Step::deflate);
        else if (id == H5Z_FILTER_SHUFFLE) steps.push_back(Step::shuffle);
        else if (id == lzf_filter_id) steps.push_back(Step::lzf);
        else return;
    }
    hsize_t chunk_len = 0, dim = 0;
    H5Pget_chunk(dcpl, 1, &chunk_len);
    H5Sget_simple_extent_dims(space, &dim, nullptr);
    if (chunk_len == 0) return;
    const std::size_t chunk_bytes = static_cast<std::size_t>(chunk_len) * heap.id_size();
    for (hsize_t start = 0; start < dim; start += chunk_len) {
        hsize_t stored = 0;
        if (H5Dget_chunk_storage_size(dset, &start, &stored) < 0 || stored == 0) {
            H5Eclear2(H5E_DEFAULT);
            continue; // unwritten chunk: null strings
        }
        if (stored > chunk_bytes * 2 + 4096)
            throw Error(fmt::format("{}: chunk at {} claims {} bytes (damaged file?)", where(dset), start, stored));
        std::vector<unsigned char> raw(static_cast<std::size_t>(stored));
        std::uint32_t mask = 0;
        check(H5Dread_chunk(dset, H5P_DEFAULT, &start, &mask, raw.data()), fmt::format("{}: cannot read chunk at {}", where(dset), start));
        for (std::size_t k = steps.size(); k-- > 0;) {
            if (mask & (1u << k)) continue; // filter skipped for this chunk
            if (steps[k] == Step::shuffle) {
                raw = unshuffle(raw, heap.id_size());
                continue;
            }
            std::vector<unsigned char> out(chunk_bytes);
            bool ok = false;
            if (steps[k] == Step::deflate) {
                uLongf out_len = static_cast<uLongf>(out.size());
                ok = uncompress(out.data(), &out_len, raw.data(), static_cast<uLong>(raw.size())) == Z_OK && out_len == out.size();
            } else {
                ok = lzf_decompress(raw.data(), static_cast<unsigned>(raw.size()), out.data(), static_cast<unsigned>(out.size())) == out.size();
            }
            if (!ok) throw Error(fmt::format("{}: chunk at {} does not decompress (damaged file?)", where(dset), start));
            raw = std::move(out);
        }
        if (raw.size() < chunk_bytes) throw Error(fmt::format("{}: chunk at {} is short (damaged file?)", where(dset), start));
        heap.check_ids(raw.data(), static_cast<std::size_t>(std::min<hsize_t>(chunk_len, dim - start)));
    }
}

/// Walks the root group's object header before H5Fopen loads it whole (a damaged block size made
/// libhdf5 allocate 12 GB there), as check_object_header does for every other object.
void check_root_header(const std::string& path, std::span<const std::byte> image) {
    RawHdf5Check raw(path, path, image);
    if (const auto root = raw.root_header()) raw.check_header_messages(*root);
}

/// An open object whose header libhdf5 cannot describe (H5Oget_info: no object class, say - the
/// root group of a damaged file still opens from the superblock's cache): its attributes are
/// not looked up, since the checks above need the header's address and libhdf5 1.10 crashes on
/// the damage they would catch.
[[noreturn]] void object_header_unreadable(hid_t obj) {
    throw Error(fmt::format("{}: cannot read its object header ({}) (damaged file?)", where(obj), error_stack()));
}

/// Checks the global heap behind variable-length string attribute @p name of @p obj (@p n
/// strings) before libhdf5 reads it: a damaged heap object behind one crashes or hangs libhdf5
/// 1.10 in H5Aread -> H5T__conv_vlen -> H5HG_read.
void check_vlen_attr_heap(hid_t obj, const std::string& name, std::uint64_t n) {
    if (n == 0) return;
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_BASIC) < 0) object_header_unreadable(obj);
    RawHdf5Check heap(obj, fmt::format("{} attribute '{}'", where(obj), name));
    const auto raw = heap.attribute_value(info.addr, name, checked_bytes(n, heap.id_size()));
    if (raw) heap.check_ids(reinterpret_cast<const unsigned char*>(raw->data()), static_cast<std::size_t>(n));
}

/// Checks the messages of the object header at @p addr in @p loc's file before libhdf5 decodes
/// them (see check_header_messages), once per object of an open file; @p what names the object.
/// Files opened for writing are ours: the two that amend a copy of an input (h5ad_writer,
/// h5ad_annotation_writer) read that input read-only first.
void check_object_header(hid_t loc, unsigned long fileno, haddr_t addr, const std::function<std::string()>& what) {
    // file serial numbers are never reused within a process (H5FD_open), so an entry stays valid
    thread_local std::set<std::pair<unsigned long, haddr_t>> checked;
    if (checked.count({fileno, addr})) return;
    Handle file(H5Iget_file_id(loc));
    unsigned intent = 0;
    if (H5Fget_intent(file, &intent) < 0 || (intent & H5F_ACC_RDWR)) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    RawHdf5Check raw(loc, what());
    raw.check_header_messages(addr);
    if (checked.size() >= (std::size_t{1} << 16)) checked.clear();
    checked.insert({fileno, addr});
}

/// The header check above for @p obj, before any of its attributes is looked up.
void check_attribute_messages(hid_t obj) {
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_BASIC) < 0) object_header_unreadable(obj);
    check_object_header(obj, info.fileno, info.addr, [&] { return where(obj); });
}

} // namespace

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

/// Fast path of read_range for the common h5ad layout: a 1-D chunked dataset whose
/// only filter is deflate and whose stored type equals the memory type. Compressed
/// chunks are fetched serially (HDF5 is not thread-safe) and inflated in parallel
/// with zlib, in fixed batches, so results do not depend on the thread count.
/// Returns false when the layout does not qualify (the caller then uses H5Dread).
template <class T>
bool read_range_parallel_inflate(hid_t dset, std::int64_t offset, std::int64_t count, T* out, ChunkCache* cache) {
    Handle dcpl(H5Dget_create_plist(dset));
    if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_chunk(dcpl, 0, nullptr) != 1) return false;
    const int n_filters = H5Pget_nfilters(dcpl);
    if (n_filters != 1) return false;
    unsigned flags = 0;
    std::size_t n_cd = 0;
    if (H5Pget_filter2(dcpl, 0, &flags, &n_cd, nullptr, 0, nullptr, nullptr) != H5Z_FILTER_DEFLATE) return false;
    Handle file_type(H5Dget_type(dset));
    if (H5Tequal(file_type, mem_type_for<T>()) <= 0) return false;
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
            uLongf out_bytes = static_cast<uLongf>(chunk_elems * static_cast<std::int64_t>(sizeof(T)));
            const auto& src = packed[static_cast<std::size_t>(i)];
            int rc = Z_OK;
            if (masks[i] & 1u) { // deflate was skipped for this chunk: stored raw
                out_bytes = std::min<uLongf>(out_bytes, static_cast<uLongf>(src.size()));
                std::memcpy(dst, src.data(), out_bytes);
            } else {
                rc = uncompress(reinterpret_cast<Bytef*>(dst), &out_bytes, src.data(), static_cast<uLong>(src.size()));
            }
            if (rc != Z_OK || out_bytes < static_cast<uLongf>((hi - c * chunk_elems) * static_cast<std::int64_t>(sizeof(T)))) {
#pragma omp critical
                if (!error)
                    error = std::make_exception_ptr(
                        Error(fmt::format("{}: chunk {} does not inflate (zlib error {}): damaged file?", where(dset), c, rc)));
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
    for (int i = 0; i < n_members; ++i) {
        Handle mtype(H5Tget_member_type(type, static_cast<unsigned>(i)));
        const std::size_t offset = H5Tget_member_offset(type, static_cast<unsigned>(i)), size = H5Tget_size(mtype);
        if (!mtype.valid() || offset > record || size > record - offset)
            throw Error(fmt::format("{}: field {} lies outside its {}-byte record (offset {}, {} bytes) (damaged file?)", where(d), i,
                                    record, offset, size));
    }
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
