#include "scextract/io/safetensors.hpp"

#include "scextract/core/checked_math.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/little_endian.hpp"
#include "scextract/io/json_parse.hpp"
#include "scextract/io/atomic_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace scx {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using json = nlohmann::ordered_json;

/// The reference implementation refuses headers above this size; so do we.
constexpr std::uint64_t max_header_bytes = 100'000'000;

constexpr TensorDType all_dtypes[] = {
    TensorDType::float32, TensorDType::float16, TensorDType::bfloat16, TensorDType::float64, TensorDType::int64,
    TensorDType::int32,   TensorDType::int16,   TensorDType::int8,     TensorDType::uint8,   TensorDType::bool_};

std::optional<TensorDType> dtype_from_name(const std::string& s) {
    for (auto t : all_dtypes)
        if (s == safetensors_dtype_name(t)) return t;
    return std::nullopt;
}

bool is_other_safetensors_dtype(const std::string& s) {
    static const char* const others[] = {"U16",     "U32",     "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                         "F6_E2M3", "F6_E3M2", "F4",  "C64",     "I4",      "U4"};
    return std::any_of(std::begin(others), std::end(others), [&](const char* o) { return s == o; });
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

/// A non-negative JSON integer that fits int64, or nullopt.
std::optional<std::int64_t> non_negative(const json& v) {
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
        return static_cast<std::int64_t>(u);
    }
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return v.get<std::int64_t>();
    return std::nullopt;
}

struct Entry {
    std::string name;
    Tensor tensor; // no storage yet
    std::int64_t begin = 0, end = 0;
};

struct ParsedHeader {
    std::vector<Entry> entries;
    SafetensorsMetadata metadata;
    std::uint64_t data_start = 0; // 8 + N
    std::uint64_t data_size = 0;
};

json parse_header_json(const std::string& text, const std::string& path) {
    // nlohmann keeps the last of duplicate keys silently; the format forbids them, so track keys per object.
    std::vector<std::unordered_set<std::string>> open_objects;
    std::string duplicate;
    json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
        if (ev == json::parse_event_t::object_start)
            open_objects.emplace_back();
        else if (ev == json::parse_event_t::object_end && !open_objects.empty())
            open_objects.pop_back();
        else if (ev == json::parse_event_t::key && !open_objects.empty() && duplicate.empty()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(key).second) duplicate = key;
        }
        return true;
    };
    json j = parse_json_bounded<json>(text, path + ": safetensors header", cb);
    if (!duplicate.empty()) throw Error(fmt::format("{}: safetensors header lists '{}' twice", path, duplicate));
    return j;
}

ParsedHeader parse_header(std::ifstream& in, std::uint64_t file_size, const std::string& path) {
    if (file_size < 8)
        throw Error(fmt::format("{}: {} bytes is too short for a safetensors file (8-byte header length missing)", path,
                                file_size));
    unsigned char len_bytes[8];
    in.read(reinterpret_cast<char*>(len_bytes), 8);
    if (!in) throw Error(fmt::format("{}: cannot read the safetensors header length", path));
    const std::uint64_t n = load_le(len_bytes, 8);
    if (n > file_size - 8)
        throw Error(
            fmt::format("{}: safetensors header length {} exceeds the {} bytes that follow it (truncated or not a "
                        "safetensors file)",
                        path, n, file_size - 8));
    if (n > max_header_bytes)
        throw Error(fmt::format("{}: safetensors header of {} bytes exceeds the format's limit of {}", path, n,
                                max_header_bytes));
    if (n < 2) throw Error(fmt::format("{}: safetensors header of {} bytes cannot hold a JSON object", path, n));
    std::string text(static_cast<std::size_t>(n), '\0');
    in.read(text.data(), static_cast<std::streamsize>(n));
    if (!in) throw Error(fmt::format("{}: cannot read the {}-byte safetensors header", path, n));
    if (text.front() != '{')
        throw Error(fmt::format("{}: safetensors header does not start with '{{' (not a safetensors file?)", path));

    const json j = parse_header_json(text, path);
    if (!j.is_object()) throw Error(fmt::format("{}: safetensors header is not a JSON object", path));

    ParsedHeader h;
    h.data_start = 8 + n;
    h.data_size = file_size - h.data_start;
    for (const auto& [name, v] : j.items()) {
        if (name == "__metadata__") {
            if (!v.is_object()) throw Error(fmt::format("{}: '__metadata__' is not a JSON object", path));
            for (const auto& [k, s] : v.items()) {
                if (!s.is_string())
                    throw Error(
                        fmt::format("{}: '__metadata__' value of '{}' is not a string ({})", path, k, json_excerpt(s)));
                h.metadata.emplace(k, s.get<std::string>());
            }
            continue;
        }
        const auto where = fmt::format("{}: tensor '{}'", path, name);
        if (!v.is_object()) throw Error(fmt::format("{}: header entry is not a JSON object", where));
        for (const auto& [field, _] : v.items())
            if (field != "dtype" && field != "shape" && field != "data_offsets")
                throw Error(
                    fmt::format("{}: unknown header field '{}' (expected dtype, shape, data_offsets)", where, field));
        if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
            throw Error(fmt::format("{}: header entry needs dtype, shape and data_offsets", where));
        const auto& dt = v.at("dtype");
        if (!dt.is_string()) throw Error(fmt::format("{}: dtype is not a string", where));
        const auto dname = dt.get<std::string>();
        const auto dtype = dtype_from_name(dname);
        if (!dtype) {
            if (is_other_safetensors_dtype(dname))
                throw Error(
                    fmt::format("{}: dtype {} is not supported (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
                                where, dname));
            throw Error(fmt::format("{}: unknown dtype '{}'", where, dname));
        }
        Entry e;
        e.name = name;
        e.tensor.dtype = *dtype;
        const auto& shape = v.at("shape");
        if (!shape.is_array()) throw Error(fmt::format("{}: shape is not an array", where));
        for (const auto& d : shape) {
            const auto dim = non_negative(d);
            if (!dim)
                throw Error(
                    fmt::format("{}: shape {} has an entry that is not a non-negative integer", where, json_excerpt_text(shape)));
            e.tensor.shape.push_back(*dim);
        }
        const auto& off = v.at("data_offsets");
        if (!off.is_array() || off.size() != 2)
            throw Error(fmt::format("{}: data_offsets must be [begin, end], found {}", where, json_excerpt_text(off)));
        const auto b = non_negative(off[0]), en = non_negative(off[1]);
        if (!b || !en) throw Error(fmt::format("{}: data_offsets {} are not non-negative integers", where, json_excerpt_text(off)));
        if (*b > *en) throw Error(fmt::format("{}: data_offsets [{}, {}] end before they begin", where, *b, *en));
        e.begin = *b;
        e.end = *en;
        const auto nbytes = checked_nbytes(e.tensor.shape, tensor_dtype_size(*dtype));
        if (!nbytes)
            throw Error(fmt::format("{}: shape {} overflows the byte count", where, shape_text(e.tensor.shape)));
        if (static_cast<std::uint64_t>(e.end - e.begin) != *nbytes)
            throw Error(fmt::format("{}: data_offsets [{}, {}] span {} bytes but shape {} of {} needs {}", where,
                                    e.begin, e.end, e.end - e.begin, shape_text(e.tensor.shape), dname, *nbytes));
        if (static_cast<std::uint64_t>(e.end) > h.data_size)
            throw Error(fmt::format("{}: data_offsets [{}, {}] reach past the {}-byte data buffer (file truncated?)",
                                    where, e.begin, e.end, h.data_size));
        h.entries.push_back(std::move(e));
    }

    // Ranges must tile the buffer exactly: no overlap (aliasing), no holes (polyglot files).
    std::vector<std::size_t> order(h.entries.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::pair(h.entries[a].begin, h.entries[a].end) < std::pair(h.entries[b].begin, h.entries[b].end);
    });
    std::int64_t covered = 0;
    const Entry* prev = nullptr;
    for (auto i : order) {
        const auto& e = h.entries[i];
        if (e.begin < covered)
            throw Error(fmt::format("{}: tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", path, prev->name,
                                    prev->begin, prev->end, e.name, e.begin, e.end));
        if (e.begin > covered)
            throw Error(
                fmt::format("{}: data bytes [{}, {}) before tensor '{}' belong to no tensor (the format forbids holes)",
                            path, covered, e.begin, e.name));
        covered = e.end;
        prev = &e;
    }
    if (static_cast<std::uint64_t>(covered) != h.data_size)
        throw Error(
            fmt::format("{}: the data buffer has {} bytes but the tensors cover {} (trailing bytes are not allowed)",
                        path, h.data_size, covered));
    return h;
}

std::uint64_t file_size_of(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw Error(fmt::format("{}: is a directory, not a safetensors file", path));
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(fmt::format("{}: cannot open ({})", path, ec.message()));
    return size;
}

SafetensorsFile read_impl(const std::string& path, bool with_data) {
    const auto size = file_size_of(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open", path));
    auto h = parse_header(in, size, path);
    SafetensorsFile out;
    out.metadata = std::move(h.metadata);
    std::shared_ptr<std::vector<std::byte>> buffer;
    if (with_data) {
        buffer = std::make_shared<std::vector<std::byte>>(static_cast<std::size_t>(h.data_size));
        in.read(reinterpret_cast<char*>(buffer->data()), static_cast<std::streamsize>(h.data_size));
        if (!in || static_cast<std::uint64_t>(in.gcount()) != h.data_size)
            throw Error(fmt::format("{}: cannot read the {}-byte data buffer", path, h.data_size));
    }
    out.tensors.reserve(h.entries.size());
    for (auto& e : h.entries) {
        Tensor t = std::move(e.tensor);
        if (buffer) {
            const auto esize = static_cast<std::int64_t>(tensor_dtype_size(t.dtype));
            if (e.begin % esize == 0) {
                t.storage = buffer;
                t.storage_offset = e.begin / esize;
            } else { // writers without header padding leave tensors unaligned; give those their own storage
                auto own = std::make_shared<std::vector<std::byte>>(buffer->begin() + e.begin, buffer->begin() + e.end);
                t.storage = std::move(own);
                t.storage_offset = 0;
            }
        }
        out.tensors.emplace_back(std::move(e.name), std::move(t));
    }
    return out;
}

/// Contiguous row-major strides for @p shape.
std::vector<std::int64_t> contiguous_strides(const std::vector<std::int64_t>& shape) {
    std::vector<std::int64_t> st(shape.size(), 1);
    for (std::size_t i = shape.size(); i-- > 1;) st[i - 1] = st[i] * shape[i];
    return st;
}

} // namespace

const char* safetensors_dtype_name(TensorDType t) {
    switch (t) {
    case TensorDType::float32:
        return "F32";
    case TensorDType::float16:
        return "F16";
    case TensorDType::bfloat16:
        return "BF16";
    case TensorDType::float64:
        return "F64";
    case TensorDType::int64:
        return "I64";
    case TensorDType::int32:
        return "I32";
    case TensorDType::int16:
        return "I16";
    case TensorDType::int8:
        return "I8";
    case TensorDType::uint8:
        return "U8";
    case TensorDType::bool_:
        return "BOOL";
    }
    return "?";
}

SafetensorsFile read_safetensors(const std::string& path) {
    return read_impl(path, true);
}

SafetensorsFile read_safetensors_header(const std::string& path) {
    return read_impl(path, false);
}

std::vector<std::byte> tensor_contiguous_bytes(const Tensor& t, const std::string& what) {
    const auto esize = tensor_dtype_size(t.dtype);
    const auto nbytes = checked_nbytes(t.shape, esize);
    if (!nbytes) throw Error(fmt::format("{}: shape {} is negative or overflows", what, shape_text(t.shape)));
    if (*nbytes == 0) return {};
    if (!t.storage) throw Error(fmt::format("{}: tensor has no storage", what));
    const auto rank = t.shape.size();
    const auto st = t.strides.empty() ? contiguous_strides(t.shape) : t.strides;
    if (st.size() != rank) throw Error(fmt::format("{}: {} strides for {} dimensions", what, st.size(), rank));
    if (t.storage_offset < 0) throw Error(fmt::format("{}: negative storage offset", what));
    const auto capacity = static_cast<std::int64_t>(t.storage->size() / esize);
    std::int64_t lo = t.storage_offset, hi = t.storage_offset;
    for (std::size_t i = 0; i < rank; ++i) {
        const auto span = checked_mul(t.shape[i] - 1, st[i]);
        auto& end = span && *span < 0 ? lo : hi; // a negative stride moves the low end
        const auto moved = span ? checked_add(end, *span) : std::nullopt;
        if (!moved) throw Error(fmt::format("{}: strides overflow", what));
        end = *moved;
    }
    if (lo < 0 || hi >= capacity)
        throw Error(
            fmt::format("{}: view [{}, {}] reaches outside its storage of {} elements", what, lo, hi, capacity));

    std::vector<std::byte> out(static_cast<std::size_t>(*nbytes));
    const auto* base = t.storage->data();
    if (st == contiguous_strides(t.shape)) {
        std::memcpy(out.data(), base + t.storage_offset * static_cast<std::int64_t>(esize), out.size());
        return out;
    }
    // Copy the innermost dimension in one loop per outer index (odometer over the outer ones).
    const auto inner = rank == 0 ? 1 : t.shape[rank - 1];
    const auto inner_stride = rank == 0 ? 1 : st[rank - 1];
    const auto outer_rank = rank == 0 ? 0 : rank - 1;
    std::vector<std::int64_t> index(outer_rank, 0);
    auto* dst = out.data();
    const auto n_outer = static_cast<std::int64_t>(*nbytes / esize) / inner;
    for (std::int64_t k = 0; k < n_outer; ++k) {
        std::int64_t e = t.storage_offset;
        for (std::size_t i = 0; i < outer_rank; ++i) e += index[i] * st[i];
        for (std::int64_t j = 0; j < inner; ++j, dst += esize)
            std::memcpy(dst, base + (e + j * inner_stride) * static_cast<std::int64_t>(esize), esize);
        for (std::size_t i = outer_rank; i-- > 0;) {
            if (++index[i] < t.shape[i]) break;
            index[i] = 0;
        }
    }
    return out;
}

void write_safetensors(const std::string& path, const TensorMap& tensors, const SafetensorsMetadata& metadata) {
    std::unordered_set<std::string> names;
    std::vector<std::uint64_t> sizes;
    sizes.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        if (name == "__metadata__")
            throw Error(fmt::format("{}: a tensor cannot be named '__metadata__' (reserved by the format)", path));
        if (!names.insert(name).second) throw Error(fmt::format("{}: tensor '{}' is given twice", path, name));
        const auto nbytes = checked_nbytes(t.shape, tensor_dtype_size(t.dtype));
        if (!nbytes)
            throw Error(
                fmt::format("{}: tensor '{}': shape {} is negative or overflows", path, name, shape_text(t.shape)));
        sizes.push_back(*nbytes);
    }
    // Data by decreasing element size: with an 8-aligned header every tensor is then aligned.
    std::vector<std::size_t> layout(tensors.size());
    std::iota(layout.begin(), layout.end(), std::size_t{0});
    std::stable_sort(layout.begin(), layout.end(), [&](std::size_t a, std::size_t b) {
        return tensor_dtype_size(tensors[a].second.dtype) > tensor_dtype_size(tensors[b].second.dtype);
    });
    std::vector<std::uint64_t> begin(tensors.size());
    std::uint64_t offset = 0;
    for (auto i : layout) {
        begin[i] = offset;
        offset += sizes[i];
    }

    json header = json::object();
    if (!metadata.empty()) {
        json m = json::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        header["__metadata__"] = std::move(m);
    }
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i].second;
        header[tensors[i].first] = json{{"dtype", safetensors_dtype_name(t.dtype)},
                                        {"shape", t.shape},
                                        {"data_offsets", {begin[i], begin[i] + sizes[i]}}};
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const json::exception& e) { // invalid UTF-8 in a name
        throw Error(fmt::format("{}: cannot encode the header ({})", path, e.what()));
    }
    text.append((8 - text.size() % 8) % 8, ' ');

    AtomicOutput out{std::filesystem::path(path)};
    {
        std::ofstream f(out.temp_path(), std::ios::binary | std::ios::trunc);
        if (!f) throw Error(fmt::format("{}: cannot create {}", path, out.temp_path().string()));
        unsigned char len_bytes[8];
        std::uint64_t n = text.size();
        for (auto& b : len_bytes) {
            b = static_cast<unsigned char>(n & 0xffu);
            n >>= 8;
        }
        f.write(reinterpret_cast<const char*>(len_bytes), 8);
        f.write(text.data(), static_cast<std::streamsize>(text.size()));
        for (auto i : layout) {
            const auto bytes =
                tensor_contiguous_bytes(tensors[i].second, fmt::format("{}: tensor '{}'", path, tensors[i].first));
            f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
            if (!f) break;
        }
        f.close();
        if (!f) throw Error(fmt::format("{}: write failed (disk full?)", path));
    }
    out.commit();
}

} // namespace scx
