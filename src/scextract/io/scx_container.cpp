#include "scextract/io/scx_container.hpp"

#include "scextract/core/checked_math.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/json_parse.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

static_assert(std::endian::native == std::endian::little, "the container I/O assumes a little-endian host");

namespace {

using json = nlohmann::ordered_json;

constexpr std::uint64_t kPreambleBytes = 24; // magic, version, reserved, header length
constexpr std::uint64_t kHeaderCrcBytes = 4;
/// Refuse absurd header lengths before allocating anything for them.
constexpr std::uint64_t kMaxHeaderBytes = std::uint64_t{1} << 32;

constexpr ContainerDType kAllDTypes[] = {ContainerDType::float32, ContainerDType::float64, ContainerDType::int32,
                                         ContainerDType::int64, ContainerDType::uint8};

std::optional<ContainerDType> dtype_from_str(const std::string& s) {
    for (auto t : kAllDTypes)
        if (s == container_dtype_str(t)) return t;
    return std::nullopt;
}

std::uint64_t align_up(std::uint64_t x) { return (x + kScxAlignment - 1) / kScxAlignment * kScxAlignment; }

/// zlib's CRC-32 of a byte range of any length (crc32_z takes size_t).
std::uint32_t crc_update(std::uint32_t crc, std::span<const std::byte> bytes) {
    return static_cast<std::uint32_t>(
        crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

std::uint32_t crc_of(std::span<const std::byte> bytes) {
    return crc_update(static_cast<std::uint32_t>(crc32_z(0, nullptr, 0)), bytes);
}

void put_u32(std::byte* p, std::uint32_t v) { std::memcpy(p, &v, 4); }
void put_u64(std::byte* p, std::uint64_t v) { std::memcpy(p, &v, 8); }
std::uint32_t get_u32(const std::byte* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
std::uint64_t get_u64(const std::byte* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

/// A non-negative JSON integer, or nullopt.
std::optional<std::uint64_t> unsigned_of(const json& v) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    return std::nullopt;
}

struct Layout {
    std::string header; // padded JSON
    std::vector<std::uint64_t> offsets;
    std::uint64_t file_size = 0;
};

/// The header text and array offsets. Offsets are absolute and are written into the
/// header whose length they depend on, so the length is grown until it holds them
/// (offsets only grow with the length, so this ends after a step or two).
Layout lay_out(const std::string& kind, const json& metadata, const std::vector<ContainerArrayView>& arrays,
               const std::vector<std::uint64_t>& nbytes, const std::vector<std::uint32_t>& crcs) {
    std::uint64_t h = 0;
    for (;;) {
        Layout out;
        std::uint64_t pos = align_up(kPreambleBytes + h + kHeaderCrcBytes);
        json j;
        j["kind"] = kind;
        j["metadata"] = metadata.is_null() ? json::object() : metadata;
        json list = json::array();
        for (std::size_t k = 0; k < arrays.size(); ++k) {
            out.offsets.push_back(pos);
            json a;
            a["name"] = arrays[k].name;
            a["dtype"] = container_dtype_str(arrays[k].dtype);
            a["shape"] = arrays[k].shape;
            a["offset"] = pos;
            a["nbytes"] = nbytes[k];
            a["crc32"] = crcs[k];
            list.push_back(std::move(a));
            pos = align_up(pos + nbytes[k]);
        }
        j["arrays"] = std::move(list);
        std::string text = j.dump(-1, ' ', false, json::error_handler_t::strict);
        const std::uint64_t need = align_up(text.size());
        if (need <= h) {
            text.resize(h, ' ');
            out.header = std::move(text);
            out.file_size = arrays.empty() ? kPreambleBytes + h + kHeaderCrcBytes : out.offsets.back() + nbytes.back();
            return out;
        }
        h = need;
    }
}

} // namespace

const char* container_dtype_str(ContainerDType t) {
    switch (t) {
    case ContainerDType::float32: return "<f4";
    case ContainerDType::float64: return "<f8";
    case ContainerDType::int32: return "<i4";
    case ContainerDType::int64: return "<i8";
    case ContainerDType::uint8: return "|u1";
    }
    return "?";
}

std::size_t container_dtype_size(ContainerDType t) {
    switch (t) {
    case ContainerDType::float32: return 4;
    case ContainerDType::float64: return 8;
    case ContainerDType::int32: return 4;
    case ContainerDType::int64: return 8;
    case ContainerDType::uint8: return 1;
    }
    return 0;
}

ContainerArrayView ContainerArrayView::f32(std::string name, std::vector<std::int64_t> shape, std::span<const float> data) {
    ContainerArrayView v{std::move(name), ContainerDType::float32, std::move(shape), {}};
    v.add_piece(data);
    return v;
}

ContainerArrayView ContainerArrayView::i64(std::string name, std::vector<std::int64_t> shape,
                                           std::span<const std::int64_t> data) {
    ContainerArrayView v{std::move(name), ContainerDType::int64, std::move(shape), {}};
    v.add_piece(data);
    return v;
}

ContainerArrayView ContainerArrayView::i32(std::string name, std::vector<std::int64_t> shape,
                                           std::span<const std::int32_t> data) {
    ContainerArrayView v{std::move(name), ContainerDType::int32, std::move(shape), {}};
    v.add_piece(data);
    return v;
}

std::int64_t ContainerArrayInfo::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

void write_scx_container(const std::string& path, const std::string& kind, const nlohmann::ordered_json& metadata,
                         const std::vector<ContainerArrayView>& arrays) {
    if (kind.empty()) throw Error(fmt::format("{}: container kind is empty", path));
    if (!metadata.is_object() && !metadata.is_null())
        throw Error(fmt::format("{}: container metadata must be a JSON object", path));
    std::set<std::string> names;
    std::vector<std::uint64_t> nbytes;
    std::vector<std::uint32_t> crcs;
    for (const auto& a : arrays) {
        if (a.name.empty()) throw Error(fmt::format("{}: an array has an empty name", path));
        if (!names.insert(a.name).second) throw Error(fmt::format("{}: array '{}' is given twice", path, a.name));
        const auto n = checked_nbytes(a.shape, container_dtype_size(a.dtype));
        if (!n)
            throw Error(fmt::format("{}: array '{}' has an invalid shape [{}]", path, a.name, fmt::join(a.shape, ", ")));
        std::uint64_t have = 0;
        std::uint32_t crc = crc_of({});
        for (const auto& p : a.pieces) {
            have += p.size();
            crc = crc_update(crc, p);
        }
        if (have != *n)
            throw Error(fmt::format("{}: array '{}' of shape [{}] and dtype {} needs {} bytes but {} were given", path,
                                    a.name, fmt::join(a.shape, ", "), container_dtype_str(a.dtype), *n, have));
        nbytes.push_back(*n);
        crcs.push_back(crc);
    }
    Layout layout;
    try {
        layout = lay_out(kind, metadata, arrays, nbytes, crcs);
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{}: container metadata cannot be written as JSON: {}", path, e.what()));
    }

    std::vector<std::byte> head(kPreambleBytes + layout.header.size() + kHeaderCrcBytes);
    std::memcpy(head.data(), kScxMagic, 8);
    put_u32(head.data() + 8, kScxFormatVersion);
    put_u32(head.data() + 12, 0);
    put_u64(head.data() + 16, layout.header.size());
    std::memcpy(head.data() + kPreambleBytes, layout.header.data(), layout.header.size());
    const std::uint32_t header_crc = crc_of(std::span<const std::byte>(head.data(), kPreambleBytes + layout.header.size()));
    put_u32(head.data() + kPreambleBytes + layout.header.size(), header_crc);

    AtomicOutput out(path);
    {
        std::ofstream f(out.temp_path(), std::ios::binary | std::ios::trunc);
        if (!f) throw Error(fmt::format("{}: cannot create {}: {}", path, out.temp_path().string(), std::strerror(errno)));
        f.write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
        std::uint64_t pos = head.size();
        static const char zeros[kScxAlignment] = {};
        for (std::size_t k = 0; k < arrays.size(); ++k) {
            f.write(zeros, static_cast<std::streamsize>(layout.offsets[k] - pos));
            for (const auto& p : arrays[k].pieces)
                f.write(reinterpret_cast<const char*>(p.data()), static_cast<std::streamsize>(p.size()));
            pos = layout.offsets[k] + nbytes[k];
        }
        f.flush();
        if (!f) throw Error(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
    }
    out.commit();
}

// ---- reading ----------------------------------------------------------------------------

ScxContainer::ScxContainer(const std::string& path, const ScxOpenOptions& options) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(fmt::format("{}: cannot stat: {}", path, std::strerror(e)));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(fmt::format("{}: not a regular file", path));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    if (size_ < kPreambleBytes + kHeaderCrcBytes) {
        char magic[8];
        const bool other = size_ >= 8 && ::pread(fd, magic, 8, 0) == 8 && std::memcmp(magic, kScxMagic, 8) != 0;
        ::close(fd);
        if (other) throw Error(fmt::format("{}: not an scextract container (bad magic)", path));
        throw Error(fmt::format("{}: truncated: {} bytes, smaller than the {}-byte preamble", path, size_,
                                kPreambleBytes + kHeaderCrcBytes));
    }
    void* m = ::mmap(nullptr, static_cast<std::size_t>(size_), PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    ::close(fd); // the mapping keeps the file open
    if (m == MAP_FAILED) throw Error(fmt::format("{}: cannot map: {}", path, std::strerror(map_errno)));
    map_ = static_cast<const std::byte*>(m);

    try {
        if (std::memcmp(map_, kScxMagic, 8) != 0) {
            std::string shown;
            for (int i = 0; i < 8; ++i) {
                const auto c = static_cast<unsigned char>(map_[i]);
                shown += (c >= 32 && c < 127) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
            }
            fail(fmt::format("not an scextract container (bad magic \"{}\", expected \"SCXFILE\\0\")", shown));
        }
        version_ = get_u32(map_ + 8);
        if (version_ != kScxFormatVersion)
            fail(fmt::format("unsupported container format version {} (this scextract reads version {})", version_,
                             kScxFormatVersion));
        if (const auto reserved = get_u32(map_ + 12); reserved != 0)
            fail(fmt::format("reserved field is {}, expected 0 (corrupt or from a newer writer)", reserved));
        const std::uint64_t h = get_u64(map_ + 16);
        if (h > kMaxHeaderBytes || h % kScxAlignment != 0)
            fail(fmt::format("header length {} is invalid (must be a multiple of {} below 4 GiB)", h, kScxAlignment));
        if (kPreambleBytes + h + kHeaderCrcBytes > size_)
            fail(fmt::format("truncated: {} bytes, but the header alone needs {}", size_, kPreambleBytes + h + kHeaderCrcBytes));
        const std::uint32_t want = get_u32(map_ + kPreambleBytes + h);
        const std::uint32_t got = crc_of(std::span<const std::byte>(map_, kPreambleBytes + h));
        if (want != got)
            fail(fmt::format("header checksum mismatch (stored CRC-32 {:08x}, computed {:08x}): the header is corrupt",
                             want, got));

        json j;
        try {
            const auto* text = reinterpret_cast<const char*>(map_ + kPreambleBytes);
            j = parse_json_bounded<json>(std::string_view(text, h), "header");
        } catch (const Error& e) {
            fail(fmt::format("header JSON is invalid: {}", e.what()));
        }
        if (!j.is_object()) fail("header JSON is not an object");
        if (!j.contains("kind") || !j["kind"].is_string() || j["kind"].get<std::string>().empty())
            fail("header has no \"kind\" string");
        kind_ = j["kind"].get<std::string>();
        if (!options.expected_kind.empty() && kind_ != options.expected_kind)
            fail(fmt::format("is a container of kind \"{}\", expected \"{}\"", kind_, options.expected_kind));
        if (!j.contains("metadata") || !j["metadata"].is_object()) fail("header has no \"metadata\" object");
        metadata_ = std::move(j["metadata"]);
        if (!j.contains("arrays") || !j["arrays"].is_array()) fail("header has no \"arrays\" list");

        const std::uint64_t data_start = kPreambleBytes + h + kHeaderCrcBytes;
        std::set<std::string> names;
        for (std::size_t k = 0; k < j["arrays"].size(); ++k) {
            const json& a = j["arrays"][k];
            if (!a.is_object() || !a.contains("name") || !a["name"].is_string() || a["name"].get<std::string>().empty())
                fail(fmt::format("header array {} has no name", k));
            ContainerArrayInfo info;
            info.name = a["name"].get<std::string>();
            const std::string what = fmt::format("array '{}'", info.name);
            if (!names.insert(info.name).second) fail(fmt::format("{} is listed twice", what));
            for (const char* key : {"dtype", "shape", "offset", "nbytes", "crc32"})
                if (!a.contains(key)) fail(fmt::format("{} has no \"{}\"", what, key));
            const auto dt = a["dtype"].is_string() ? dtype_from_str(a["dtype"].get<std::string>()) : std::nullopt;
            if (!dt)
                fail(fmt::format("{} has unsupported dtype {} (expected <f4, <f8, <i4, <i8 or |u1)", what, json_excerpt_text(a["dtype"])));
            info.dtype = *dt;
            if (!a["shape"].is_array()) fail(fmt::format("{} has a shape that is not a list", what));
            for (const auto& d : a["shape"]) {
                const auto u = unsigned_of(d);
                if (!u || *u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                    fail(fmt::format("{} has an invalid dimension {}", what, json_excerpt_text(d)));
                info.shape.push_back(static_cast<std::int64_t>(*u));
            }
            const auto offset = unsigned_of(a["offset"]);
            const auto nbytes = unsigned_of(a["nbytes"]);
            const auto crc = unsigned_of(a["crc32"]);
            if (!offset || !nbytes || !crc || *crc > std::numeric_limits<std::uint32_t>::max())
                fail(fmt::format("{} has an invalid offset, nbytes or crc32", what));
            info.offset = *offset;
            info.nbytes = *nbytes;
            info.crc32 = static_cast<std::uint32_t>(*crc);
            const auto expect = checked_nbytes(info.shape, container_dtype_size(info.dtype));
            if (!expect || *expect != info.nbytes)
                fail(fmt::format("{}: nbytes {} does not match shape [{}] of {}", what, info.nbytes,
                                 fmt::join(info.shape, ", "), container_dtype_str(info.dtype)));
            if (info.offset % kScxAlignment != 0 || info.offset < data_start)
                fail(fmt::format("{}: offset {} is not a multiple of {} after the header (which ends at {})", what,
                                 info.offset, kScxAlignment, data_start));
            const auto end = checked_add(info.offset, info.nbytes);
            if (!end || *end > size_)
                fail(fmt::format("{} (bytes {}..{}) lies outside the file of {} bytes: truncated or corrupt", what,
                                 info.offset, info.offset + info.nbytes, size_));
            arrays_.push_back(std::move(info));
        }
        std::vector<const ContainerArrayInfo*> by_offset;
        for (const auto& a : arrays_) by_offset.push_back(&a);
        std::sort(by_offset.begin(), by_offset.end(),
                  [](const auto* x, const auto* y) { return x->offset < y->offset; });
        for (std::size_t k = 1; k < by_offset.size(); ++k)
            if (by_offset[k - 1]->offset + by_offset[k - 1]->nbytes > by_offset[k]->offset)
                fail(fmt::format("arrays '{}' and '{}' overlap", by_offset[k - 1]->name, by_offset[k]->name));
        if (options.verify_checksums)
            for (const auto& a : arrays_) verify_array(a.name);
    } catch (...) {
        close();
        throw;
    }
}

ScxContainer::~ScxContainer() { close(); }

ScxContainer::ScxContainer(ScxContainer&& other) noexcept
    : path_(std::move(other.path_)), map_(std::exchange(other.map_, nullptr)), size_(std::exchange(other.size_, 0)),
      version_(other.version_), kind_(std::move(other.kind_)), metadata_(std::move(other.metadata_)),
      arrays_(std::move(other.arrays_)) {}

ScxContainer& ScxContainer::operator=(ScxContainer&& other) noexcept {
    if (this != &other) {
        close();
        path_ = std::move(other.path_);
        map_ = std::exchange(other.map_, nullptr);
        size_ = std::exchange(other.size_, 0);
        version_ = other.version_;
        kind_ = std::move(other.kind_);
        metadata_ = std::move(other.metadata_);
        arrays_ = std::move(other.arrays_);
    }
    return *this;
}

void ScxContainer::close() noexcept {
    if (map_ != nullptr) ::munmap(const_cast<std::byte*>(map_), static_cast<std::size_t>(size_));
    map_ = nullptr;
}

void ScxContainer::fail(const std::string& what) const { throw Error(fmt::format("{}: {}", path_, what)); }

bool ScxContainer::has_array(const std::string& name) const {
    return std::any_of(arrays_.begin(), arrays_.end(), [&](const auto& a) { return a.name == name; });
}

const ContainerArrayInfo& ScxContainer::info(const std::string& name) const {
    for (const auto& a : arrays_)
        if (a.name == name) return a;
    std::vector<std::string> have;
    for (const auto& a : arrays_) have.push_back(a.name);
    fail(fmt::format("has no array '{}' (arrays: {})", name, have.empty() ? "none" : fmt::format("{}", fmt::join(have, ", "))));
}

std::span<const std::byte> ScxContainer::bytes(const std::string& name) const {
    const auto& a = info(name);
    return {map_ + a.offset, static_cast<std::size_t>(a.nbytes)};
}

namespace {
template <class T>
std::span<const T> typed(const ScxContainer& c, const std::string& name, ContainerDType want) {
    const auto& a = c.info(name);
    if (a.dtype != want)
        throw Error(fmt::format("{}: array '{}' has dtype {}, expected {}", c.path(), name, container_dtype_str(a.dtype),
                                container_dtype_str(want)));
    const auto b = c.bytes(name);
    // offsets are multiples of 64 in a page-aligned mapping, so the cast is aligned
    return {reinterpret_cast<const T*>(b.data()), b.size() / sizeof(T)};
}
} // namespace

std::span<const float> ScxContainer::array_f32(const std::string& name) const {
    return typed<float>(*this, name, ContainerDType::float32);
}
std::span<const std::int64_t> ScxContainer::array_i64(const std::string& name) const {
    return typed<std::int64_t>(*this, name, ContainerDType::int64);
}
std::span<const std::int32_t> ScxContainer::array_i32(const std::string& name) const {
    return typed<std::int32_t>(*this, name, ContainerDType::int32);
}

void ScxContainer::verify_array(const std::string& name) const {
    const auto& a = info(name);
    const std::uint32_t got = crc_of(bytes(name));
    if (got != a.crc32)
        fail(fmt::format("checksum mismatch in array '{}' (stored CRC-32 {:08x}, computed {:08x}): the file is corrupt",
                         name, a.crc32, got));
}

} // namespace scx
