// Checks of an HDF5 file's own bytes, made before libhdf5 1.10 reads the structures they
// describe (issue 23: Debian's libhdf5 trusts them, and crashed, hung or exhausted memory on
// damaged ones under the fuzzers). The public functions are declared in hdf5_structure_check.hpp.
#include "scextract/io/hdf5_structure_check.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/little_endian.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/lzf_filter.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include <liblzf/lzf.h>

#include <zlib.h>

#include <fmt/format.h>

namespace scx::h5::detail {

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
// and 2, continuation blocks) to find them, as are compact datasets' (in their layout message) and
// the string fields of records (at each field's offset, from the datatype message: libhdf5's own
// view of the type is the memory layout). Attributes in dense storage (a fractal heap) and other
// filters are left to libhdf5.
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
        unsigned internal_k = 0;
        if (H5Pget_sizes(fcpl, &sizeof_addr_, &sizeof_size_) < 0 || H5Pget_userblock(fcpl, &userblock) < 0 ||
            H5Pget_sym_k(fcpl, &internal_k, &leaf_k_) < 0)
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
            file_size_ = image_.size();
            return;
        }
        // the name libhdf5 opened the file by, not file_name()'s (which names a temporary by its target)
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
    /// on, as libhdf5 does), setting the address and length sizes and where addresses count from;
    /// nullopt where this walk cannot follow (no superblock, which libhdf5 refuses itself; sizes
    /// over 8 bytes).
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
            leaf_k_ = version <= 1 ? static_cast<unsigned>(load_le(reinterpret_cast<const unsigned char*>(read_at(16, 2).data()), 2))
                                   : 0; // versions 2-3 keep it in an extension: not known here
            // version 0/1: base, free space, end of file, driver info, root entry (name offset, header);
            // version 2/3: base, superblock extension, end of file, root header
            const std::uint64_t base_at = version == 0 ? 24 : version == 1 ? 28 : 12;
            const std::uint64_t root_at = base_at + addr * (version <= 1 ? 5 : 3);
            const auto field = [&](std::uint64_t pos) {
                return load_le(reinterpret_cast<const unsigned char*>(read_at(pos, addr).data()), addr);
            };
            // H5Fopen loads what the superblock names before the root: version 0/1's driver
            // information block, whose declared size it allocates first (4 GB in the tenx_h5
            // fuzzer), and version 2/3's extension, an object header
            if (version <= 1) {
                const std::uint64_t driver = field(base_at + 3 * addr);
                if (driver != undefined_address()) {
                    const auto head = read_at(driver, 16);
                    const std::uint64_t bytes = load_le(reinterpret_cast<const unsigned char*>(head.data()) + 4, 4);
                    if (bytes > addressable() - driver - 16)
                        fail(fmt::format("a driver information block of {} bytes at {}, past the end of the file", bytes, driver));
                }
            } else if (const std::uint64_t extension = field(base_at + addr); extension != undefined_address()) {
                check_header_messages(extension);
            }
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
        const std::uint64_t pos = base_ + offset;
        if (!file_) return std::string(image_.substr(static_cast<std::size_t>(pos), static_cast<std::size_t>(n)));
        std::string buf(n, '\0');
        const bool ok = std::fseek(file_, static_cast<long>(pos), SEEK_SET) == 0 && std::fread(buf.data(), 1, n, file_) == n;
        if (!ok) fail(fmt::format("cannot read {} bytes at {}", n, offset));
        return buf;
    }

    /// Checks every heap id of @p n_elems elements stored in @p raw (the file's encoding): one id
    /// an element, or, for records of @p stride bytes, one at each of @p offsets in every record.
    void check_ids(const unsigned char* raw, std::size_t n_elems, std::size_t stride = 0, std::span<const std::uint64_t> offsets = {}) {
        static constexpr std::uint64_t kFirst[] = {0};
        if (stride == 0) stride = id_size();
        if (offsets.empty()) offsets = kFirst;
        for (std::size_t i = 0; i < n_elems; ++i)
            for (const auto offset : offsets) check_id(raw + i * stride + offset, i);
        done_ += n_elems;
    }

    /// Where a dataset of records keeps variable-length strings: record size, and the offset of
    /// each string field in a record (the file's layout).
    struct RecordStrings {
        std::uint64_t record = 0;
        std::vector<std::uint64_t> offsets;
    };

    /// The variable-length string fields of the compound dataset whose header is at @p header,
    /// read from its datatype message (libhdf5's own view of the type is the memory layout);
    /// nullopt where the type is shared or not a compound of a version this reads.
    std::optional<RecordStrings> record_strings(std::uint64_t header) {
        std::optional<RecordStrings> out;
        for_each_message(header, [&](unsigned type, unsigned flags, const unsigned char* m, std::uint64_t size) {
            if (type != 0x03) return false;
            if (flags & 0x02) return true; // shared: kept elsewhere
            check_datatype(m, size, 0);     // everything below lies inside the message
            const std::uint64_t tflags = load_le(m, 4), record = load_le(m + 4, 4);
            const unsigned version = (tflags >> 4) & 0x0f;
            if ((tflags & 0x0f) != 6 || version < 1 || version > 3) return true;
            RecordStrings strings{record, {}};
            const std::uint64_t offset_bytes = std::uint64_t{std::bit_width(record) > 0 ? (std::bit_width(record) - 1) / 8 + 1 : 1};
            std::uint64_t at = 8;
            for (std::uint64_t i = 0, members = (tflags >> 8) & 0xffff; i < members; ++i) {
                const auto len = static_cast<std::uint64_t>(static_cast<const unsigned char*>(std::memchr(m + at, 0, size - at)) - (m + at));
                at += version >= 3 ? len + 1 : (len + 8) / 8 * 8;
                const std::uint64_t offset = load_le(m + at, version >= 3 ? offset_bytes : 4);
                at += version >= 3 ? offset_bytes : 4;
                if (version == 1) at += 28;
                const std::uint64_t member_flags = load_le(m + at, 4);
                if ((member_flags & 0x0f) == 9 && ((member_flags >> 8) & 0x0f) == 1) {
                    if (offset > record || id_size() > record - offset)
                        fail(fmt::format("a string field at {} outside its {}-byte record", offset, record));
                    strings.offsets.push_back(offset);
                }
                at += check_datatype(m + at, size - at, 1);
            }
            out = std::move(strings);
            return true;
        });
        return out;
    }

    /// The elements a compact dataset keeps in its layout message (the header at @p header);
    /// nullopt where it has none there.
    std::optional<std::string> compact_data(std::uint64_t header) {
        std::optional<std::string> out;
        for_each_message(header, [&](unsigned type, unsigned, const unsigned char* m, std::uint64_t size) {
            if (type != 0x08 || size < 4 || m[0] != 3 || m[1] != 0) return false;
            const std::uint64_t bytes = load_le(m + 2, 2);
            if (bytes > size - 4) fail("a compact layout message shorter than its data");
            out = std::string(reinterpret_cast<const char*>(m + 4), bytes);
            return true;
        });
        return out;
    }

private:
    /// The heap id at @p p, of element @p i of the current block.
    void check_id(const unsigned char* p, std::size_t i) {
        const std::uint64_t len = load_le(p, 4), addr = load_le(p + 4, sizeof_addr_), idx = load_le(p + 4 + sizeof_addr_, 4);
        // libhdf5 treats a string as null, and leaves the heap alone, only when its address
        // is 0 (H5F__blob_get): a zero length with an address still reads the heap object
        if (addr == 0) return;
        const auto& objects = collection(addr);
        if (idx == 0 || idx >= objects.size() || !objects[idx].present)
            fail(fmt::format("string {} names object {} of the global heap at {}, which has no such object", done_ + i, idx, addr));
        if (objects[idx].size != len)
            fail(fmt::format("string {} is {} bytes long but its heap object holds {}", done_ + i, len, objects[idx].size));
    }

public:
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
            else if (type == 0x0B) n_filters = check_pipeline_message(m, size);
            else if (type == 0x04 || type == 0x05) check_fill_value_message(type, m, size);
            else if (type == 0x07) refuse_external_storage(what_); // decoding it reads the local heap it names
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
            if (m[0] < 1 || m[0] > 3) return unknown = true;
            const auto a = attribute_parts(m);
            if (a.name_at + a.name_size > size) fail("an attribute message shorter than its name");
            const std::string found(reinterpret_cast<const char*>(m + a.name_at), a.name_size ? a.name_size - 1 : 0);
            if (found != name) return false;
            const std::uint64_t value_at = a.value_at;
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
        if (!tables_.insert({tree, heap}).second) return; // the root's: the superblock's copy and its message
        expect_signature(tree, "TREE", "a group's B-tree");
        expect_signature(heap, "HEAP", "a group's local heap");
        if (const auto names = check_local_heap(heap)) check_group_tree(tree, heap, *names);
    }

    /// An old-style group's B-tree (version 1, node type 0) and its symbol-table nodes ("SNOD"),
    /// read as libhdf5 reads them to find a link: nodes one level down each step, never twice;
    /// every name (B-tree keys and node entries) inside the group's heap @p names, and ended
    /// there; no node holding more entries than the file's nodes have room for (libhdf5 1.10
    /// decodes as many as a node says into an array of 2K).
    void check_group_tree(std::uint64_t tree, std::uint64_t heap, const std::string& names) {
        const auto check_name = [&](std::uint64_t offset) {
            if (offset >= names.size() || names.find('\0', offset) == std::string::npos)
                fail(fmt::format("a link name at {} outside the local heap at {}", offset, heap));
        };
        const std::uint64_t symbol = sizeof_size_ + sizeof_addr_ + 24; // name, header, cache type, reserved, scratch
        std::set<std::uint64_t> nodes;
        walk_btree(tree, 0, sizeof_size_, [&](int level, const unsigned char* keys, std::uint64_t entries) {
            const std::uint64_t entry = sizeof_size_ + sizeof_addr_;
            for (std::uint64_t i = 0; i <= entries; ++i) check_name(load_le(keys + i * entry, sizeof_size_));
            if (level > 0) return;
            for (std::uint64_t i = 0; i < entries; ++i) {
                const std::uint64_t snod = load_le(keys + i * entry + sizeof_size_, sizeof_addr_);
                if (!nodes.insert(snod).second) fail(fmt::format("a group B-tree that reaches its node at {} twice", snod));
                const auto head = read_at(snod, 8);
                if (head.compare(0, 4, "SNOD") != 0 || head[4] != 1) fail(fmt::format("no symbol-table node at {}", snod));
                const std::uint64_t symbols = load_le(reinterpret_cast<const unsigned char*>(head.data()) + 6, 2);
                if (leaf_k_ > 0 && symbols > 2 * std::uint64_t{leaf_k_})
                    fail(fmt::format("a symbol-table node at {} of {} entries where nodes hold {}", snod, symbols, 2 * leaf_k_));
                const auto body = read_at(snod + 8, symbols * symbol);
                for (std::uint64_t k = 0; k < symbols; ++k)
                    check_name(load_le(reinterpret_cast<const unsigned char*>(body.data()) + k * symbol, sizeof_size_));
            }
        });
    }

    /// Walks the version 1 B-tree of node type @p type (0: a group's, 1: a dataset's chunks) from
    /// @p root as libhdf5 walks it: every node where its parent says, of this type, one level
    /// below its parent, reached once. Calls @p visit(level, entries and keys, entry count) for
    /// each node, whose body holds key 0, child 0, key 1, ... key n (keys of @p key_size bytes).
    template <class Visit> void walk_btree(std::uint64_t root, unsigned type, std::uint64_t key_size, Visit&& visit) {
        const char* what = type == 0 ? "group" : "chunk";
        const std::uint64_t head_size = 8 + 2 * sizeof_addr_, entry = key_size + sizeof_addr_;
        std::set<std::uint64_t> seen;
        std::vector<std::pair<std::uint64_t, int>> todo{{root, -1}}; // (node, level its parent expects)
        while (!todo.empty()) {
            const auto [node, expected] = todo.back();
            todo.pop_back();
            if (!seen.insert(node).second) fail(fmt::format("a {} B-tree that reaches its node at {} twice", what, node));
            const auto head = read_at(node, head_size);
            const auto* h = reinterpret_cast<const unsigned char*>(head.data());
            if (head.compare(0, 4, "TREE") != 0 || h[4] != type) fail(fmt::format("no {} B-tree node at {}", what, node));
            const int level = h[5];
            if (expected >= 0 && level != expected)
                fail(fmt::format("a {} B-tree node at {} of level {} under a node of level {}", what, node, level, expected + 1));
            const std::uint64_t entries = load_le(h + 6, 2);
            const auto body = read_at(node + head_size, entries * entry + key_size);
            const auto* b = reinterpret_cast<const unsigned char*>(body.data());
            visit(level, b, entries);
            if (level > 0) // the first child next
                for (std::uint64_t i = entries; i-- > 0;) todo.emplace_back(load_le(b + i * entry + key_size, sizeof_addr_), level - 1);
        }
    }

    /// A local heap (a group's link names): its data segment must lie in the file, and its free
    /// list must stay inside the segment and end. libhdf5 1.10 follows the list without looking
    /// for a cycle, allocating a node per step (a looped list took 14 GB in seconds).
    /// Returns the heap's data (nullopt for a version libhdf5 refuses itself).
    std::optional<std::string> check_local_heap(std::uint64_t addr) {
        const auto head = read_at(addr, 8 + 2 * sizeof_size_ + sizeof_addr_);
        const auto* h = reinterpret_cast<const unsigned char*>(head.data());
        if (h[4] != 0) return std::nullopt;
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
        return data;
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

    /// What a version 1-3 chunked layout says of its chunk index (a version 1 B-tree).
    struct ChunkIndex {
        std::uint64_t btree = 0;
        std::vector<std::uint64_t> dims; // the chunk's, the last being the element's size in bytes
    };

    /// A layout message: compact data inside it, contiguous data inside the file, and a chunked
    /// layout's chunk dimensions, which libhdf5 divides by when it opens the dataset
    /// (H5D__chunk_set_info: a zero dimension was a SIGFPE in the tenx_h5 fuzzer); a version 1-3
    /// chunked layout's index goes to @p index. Virtual layouts are refused.
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
            if (size >= 2 && m[1] == 3) refuse_virtual_dataset(what_); // decoding its mapping reads the global heap
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

    /// A filter pipeline message (versions 1 and 2): every filter's name and parameters inside it
    /// (libhdf5 1.10 copies them by the counts the message gives). Returns the number of filters.
    int check_pipeline_message(const unsigned char* m, std::uint64_t size) {
        if (size < 2 || (m[0] != 1 && m[0] != 2)) return 0; // a version libhdf5 refuses itself
        const unsigned version = m[0], n = m[1];
        if (n > 32) fail(fmt::format("a filter pipeline of {} filters", n)); // H5Z_MAX_NFILTERS
        std::uint64_t at = version == 1 ? 8 : 2;
        const auto need = [&](std::uint64_t bytes) {
            if (bytes > size || at > size - bytes) fail("a filter pipeline message shorter than its filters");
        };
        for (unsigned i = 0; i < n; ++i) {
            need(2);
            const std::uint64_t id = load_le(m + at, 2);
            at += 2;
            std::uint64_t name_length = 0;
            if (version == 1 || id >= 256) {
                need(2);
                name_length = load_le(m + at, 2);
                at += 2;
            }
            need(4);
            const std::uint64_t values = load_le(m + at + 2, 2); // after the flags
            at += 4;
            const std::uint64_t name_bytes = version == 1 ? (name_length + 7) / 8 * 8 : name_length;
            need(name_bytes);
            if (name_length > 0 && !std::memchr(m + at, 0, name_length)) fail("a filter name not terminated within its message");
            at += name_bytes;
            need(4 * values);
            at += 4 * values;
            if (version == 1 && values % 2 == 1) at += 4; // padding
        }
        return static_cast<int>(n);
    }

    /// A fill value message, old (0x04) or new (0x05, versions 1-3): the value inside the message
    /// (libhdf5 1.10 copies as many bytes as it declares).
    void check_fill_value_message(unsigned type, const unsigned char* m, std::uint64_t size) {
        std::uint64_t at = 0; // the old message (0x04) is the value's size and the value
        if (type == 0x05) {
            if (size < 1) fail("an empty fill value message");
            const unsigned version = m[0];
            if (version == 1 || version == 2) {
                if (size < 4) fail("a fill value message shorter than its flags");
                if (version == 2 && m[3] == 0) return; // no value defined: nothing follows
                at = 4;
            } else if (version == 3) {
                if (size < 2) fail("a fill value message shorter than its flags");
                if (!(m[1] & 0x20)) return; // no value
                at = 2;
            } else {
                return; // a version libhdf5 refuses itself
            }
        }
        if (at + 4 > size) fail("a fill value message shorter than its value's size");
        const std::uint64_t bytes = load_le(m + at, 4);
        if (bytes < 0x80000000u && bytes > size - at - 4) // a negative size means none
            fail(fmt::format("a fill value of {} bytes in a message of {}", bytes, size));
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
        walk_btree(index.btree, 1, key, [&](int level, const unsigned char* b, std::uint64_t entries) {
            if (level > 0) return;
            for (std::uint64_t i = 0; i < entries; ++i) {
                const unsigned char* k = b + i * entry;
                const std::uint64_t child = load_le(k + key, sizeof_addr_);
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
        });
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

    /// Where the parts of an attribute message (versions 1-3, at least 8 bytes) begin; version 1
    /// pads each to 8 bytes. @c shared: bit 0, the datatype is kept elsewhere; bit 1, the dataspace.
    struct AttributeParts {
        unsigned shared;
        std::uint64_t name_at, name_size, dt_at, dt_size, ds_at, ds_size, value_at;
    };
    static AttributeParts attribute_parts(const unsigned char* m) {
        const unsigned version = m[0];
        const auto pad = [&](std::uint64_t n) { return version == 1 ? (n + 7) & ~std::uint64_t{7} : n; };
        AttributeParts a{version >= 2 ? m[1] : 0u, version == 3 ? 9u : 8u, load_le(m + 2, 2), 0, load_le(m + 4, 2), 0, load_le(m + 6, 2), 0};
        a.dt_at = a.name_at + pad(a.name_size);
        a.ds_at = a.dt_at + pad(a.dt_size);
        a.value_at = a.ds_at + pad(a.ds_size);
        return a;
    }

    void check_attribute_message(const unsigned char* m, std::uint64_t size) {
        const unsigned version = size > 0 ? m[0] : 0;
        if (version < 1 || version > 3) return; // libhdf5 refuses the message itself
        if (size < 8) fail("an attribute message of " + std::to_string(size) + " bytes");
        const auto a = attribute_parts(m);
        if (a.name_at > size || a.name_size > size - a.name_at || !std::memchr(m + a.name_at, 0, a.name_size))
            fail("an attribute message whose name is not terminated within it");
        if (a.dt_at + a.dt_size > size || a.ds_at + a.ds_size > size) fail("an attribute message shorter than its parts");
        if (!(a.shared & 1)) check_datatype(m + a.dt_at, a.dt_size, 0);
        if (!(a.shared & 2)) check_dataspace(m + a.ds_at, a.ds_size);
        if (a.shared & 3) return; // the type or space kept elsewhere: the value's size is not known here
        // the value: elements x element size, which libhdf5 1.10 copies from the message
        const std::uint64_t elements = dataspace_elements(m + a.ds_at, a.ds_size), element_size = load_le(m + a.dt_at + 4, 4);
        if (a.value_at > size || (element_size > 0 && elements > (size - a.value_at) / element_size))
            fail("an attribute message shorter than its value");
    }

    /// The number of elements of the (checked) dataspace message at @p m: 1 for a scalar, 0 for null.
    [[nodiscard]] std::uint64_t dataspace_elements(const unsigned char* m, std::uint64_t size) const {
        if (size < 4 || (m[0] != 1 && m[0] != 2)) return 0; // a version libhdf5 refuses itself
        const unsigned version = m[0], rank = m[1];
        if (version == 2 && m[3] == 2) return 0; // null
        std::uint64_t n = 1;
        const std::uint64_t at = version == 1 ? 8 : 4;
        for (unsigned i = 0; i < rank && at + (i + 1) * sizeof_size_ <= size; ++i) {
            const std::uint64_t d = load_le(m + at + i * sizeof_size_, sizeof_size_);
            if (d != 0 && n > ~std::uint64_t{0} / d) return ~std::uint64_t{0};
            n *= d;
        }
        return n;
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
        case 3: break;            // string
        case 7:                   // reference: an object's address, or a region's heap id
            // libhdf5 sizes a value by what the message says and copies one by the size it
            // knows references (and variable-length values, below) take in a file
            if (size != ((bits & 0x0f) == 0 ? sizeof_addr_ : 4 + sizeof_addr_))
                fail(fmt::format("a reference of {} bytes", size));
            break;
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
            // a heap id (length, collection address, index) whatever size the message says:
            // a string declared 15 bytes had libhdf5 copy 16 from a 15-byte value (h5ad fuzzer)
            if (size != 4 + sizeof_addr_ + 4) fail(fmt::format("a variable-length datatype of {} bytes", size));
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
    unsigned leaf_k_ = 0; // half a symbol-table node's entries; 0: not known
    std::FILE* file_ = nullptr;                // the file, or null for an in-memory one:
    std::string_view image_;                   // its bytes...
    std::shared_ptr<const std::string> owner_; // ...held here when copied from libhdf5
    std::size_t done_ = 0;
    std::map<std::uint64_t, std::vector<HeapObject>> heaps_;
    std::set<std::pair<std::uint64_t, std::uint64_t>> tables_; // symbol tables checked: (B-tree, heap)
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

/// Whether @p obj's file was opened for writing: then it is one of ours being written (its
/// metadata partly in libhdf5's cache, not yet in the file), and is not checked. The two writers
/// that amend a copy of an input (h5ad_writer, h5ad_annotation_writer) read that input
/// read-only first.
bool opened_for_writing(hid_t obj) {
    Handle file(H5Iget_file_id(obj));
    unsigned intent = 0;
    if (H5Fget_intent(file, &intent) >= 0 && !(intent & H5F_ACC_RDWR)) return false;
    H5Eclear2(H5E_DEFAULT);
    return true;
}

/// Checks the messages of the object header at @p addr in @p loc's file before libhdf5 decodes
/// them (see check_header_messages), once per object of a file opened read-only; @p what names
/// the object.
void check_object_header(hid_t loc, unsigned long fileno, haddr_t addr, const std::function<std::string()>& what) {
    // file serial numbers are never reused within a process (H5FD_open), so an entry stays valid
    thread_local std::set<std::pair<unsigned long, haddr_t>> checked;
    if (checked.count({fileno, addr}) || opened_for_writing(loc)) return;
    RawHdf5Check raw(loc, what());
    raw.check_header_messages(addr);
    if (checked.size() >= (std::size_t{1} << 16)) checked.clear();
    checked.insert({fileno, addr});
}

} // namespace

void refuse_external_storage(const std::string& where) {
    throw Error(fmt::format("{}: keeps its data in external files, which scextract does not follow", where));
}

void refuse_virtual_dataset(const std::string& where) {
    throw Error(fmt::format("{}: is a virtual dataset (its data lives in other files), which scextract does not follow", where));
}

void refuse_short_compact_data(const std::string& where, std::uint64_t held, std::uint64_t n, std::uint64_t need) {
    throw Error(fmt::format("{}: its data is stored in its header as {} bytes, but {} elements need {}; damaged file?", where, held, n, need));
}

/// Checks the global heap behind a variable-length string dataset (see above), or behind the
/// string fields of a dataset of records (@p records: read_compound). Filters other than
/// deflate / shuffle / LZF are left to libhdf5.
void check_vlen_heap(hid_t dset, bool records) {
    Handle dcpl(H5Dget_create_plist(dset));
    Handle space(H5Dget_space(dset));
    const auto n = static_cast<std::uint64_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0));
    if (n == 0 || opened_for_writing(dset)) return;
    RawHdf5Check heap(dset);
    std::size_t element = heap.id_size();
    std::vector<std::uint64_t> offsets{0};
    const auto layout = H5Pget_layout(dcpl);
    if (records || layout == H5D_COMPACT) {
        H5O_info_t info;
        if (H5Oget_info2(dset, &info, H5O_INFO_BASIC) < 0) object_header_unreadable(dset);
        if (records) {
            const auto strings = heap.record_strings(info.addr);
            if (!strings || strings->offsets.empty()) return; // a shared type: left to libhdf5
            element = static_cast<std::size_t>(strings->record);
            offsets = strings->offsets;
        }
        if (layout == H5D_COMPACT) {
            const auto raw = heap.compact_data(info.addr);
            if (!raw) return;
            if (raw->size() / element < n) refuse_short_compact_data(where(dset), raw->size(), n, checked_bytes(n, element));
            heap.check_ids(reinterpret_cast<const unsigned char*>(raw->data()), static_cast<std::size_t>(n), element, offsets);
            return;
        }
    }
    if (layout == H5D_CONTIGUOUS) {
        const haddr_t offset = H5Dget_offset(dset);
        if (offset == HADDR_UNDEF) { // never written: all null strings
            H5Eclear2(H5E_DEFAULT);
            return;
        }
        H5Eclear2(H5E_DEFAULT);
        const auto bytes = checked_bytes(n, element);
        if (offset < heap.base()) throw Error(fmt::format("{}: its strings lie before the file's superblock (damaged file?)", where(dset)));
        // H5Dget_offset counts from the file's start; refused when the strings run past its end
        const auto raw = heap.read_at(offset - heap.base(), bytes);
        heap.check_ids(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<std::size_t>(n), element, offsets);
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
    const std::size_t chunk_bytes = static_cast<std::size_t>(chunk_len) * element;
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
                raw = unshuffle(raw, element);
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
        heap.check_ids(raw.data(), static_cast<std::size_t>(std::min<hsize_t>(chunk_len, dim - start)), element, offsets);
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
    const auto stack = error_stack();
    throw Error(fmt::format("{}: cannot read its object header{} (damaged file?)", where(obj), stack.empty() ? "" : " (" + stack + ")"));
}

/// Checks the global heap behind variable-length string attribute @p name of @p obj (@p n
/// strings) before libhdf5 reads it: a damaged heap object behind one crashes or hangs libhdf5
/// 1.10 in H5Aread -> H5T__conv_vlen -> H5HG_read.
void check_vlen_attr_heap(hid_t obj, const std::string& name, std::uint64_t n) {
    if (n == 0 || opened_for_writing(obj)) return;
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_BASIC) < 0) object_header_unreadable(obj);
    RawHdf5Check heap(obj, fmt::format("{} attribute '{}'", where(obj), name));
    const auto raw = heap.attribute_value(info.addr, name, checked_bytes(n, heap.id_size()));
    if (raw) heap.check_ids(reinterpret_cast<const unsigned char*>(raw->data()), static_cast<std::size_t>(n));
}

void check_attribute_messages(hid_t obj) {
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_BASIC) < 0) object_header_unreadable(obj);
    check_object_header(obj, info.fileno, info.addr, [&] { return where(obj); });
}

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

} // namespace scx::h5::detail
