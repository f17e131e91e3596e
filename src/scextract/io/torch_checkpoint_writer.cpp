#include "scextract/io/torch_checkpoint_writer.hpp"

#include "scextract/core/checked_math.hpp"
#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/safetensors.hpp"
#include "scextract/io/zip_error.hpp"

#include <zip.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace scx {

namespace {

// Every record's bytes start at a multiple of this (torch's kFieldAlignment).
constexpr std::uint64_t kAlignment = 64;
// The local-header extra field torch pads with: id "FB", filled with 'Z'.
constexpr zip_uint16_t kPaddingFieldId = 0x4246;
constexpr std::uint64_t kLocalHeaderSize = 30;

// The typed-storage class torch.save names for each dtype.
const char* storage_class(TensorDType t) {
    switch (t) {
    case TensorDType::float32: return "FloatStorage";
    case TensorDType::float16: return "HalfStorage";
    case TensorDType::bfloat16: return "BFloat16Storage";
    case TensorDType::float64: return "DoubleStorage";
    case TensorDType::int64: return "LongStorage";
    case TensorDType::int32: return "IntStorage";
    case TensorDType::int16: return "ShortStorage";
    case TensorDType::int8: return "CharStorage";
    case TensorDType::uint8: return "ByteStorage";
    case TensorDType::bool_: return "BoolStorage";
    }
    return "FloatStorage";
}

// torch's contiguous strides: a dimension of size 0 counts as 1.
std::vector<std::int64_t> torch_contiguous_strides(const std::vector<std::int64_t>& shape) {
    std::vector<std::int64_t> st(shape.size(), 1);
    std::int64_t acc = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        st[i] = acc;
        acc *= std::max<std::int64_t>(shape[i], 1);
    }
    return st;
}

// --- the pickle: the opcodes Python's pickler (protocol 2) emits for a state dict ---

class Pickler {
  public:
    Pickler() {
        op(0x80); // PROTO
        byte(2);
    }

    void op(unsigned char c) { out_.push_back(static_cast<char>(c)); }
    void byte(unsigned char c) { out_.push_back(static_cast<char>(c)); }

    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) byte(static_cast<unsigned char>(v >> (8 * i)));
    }

    /// BINPUT / LONG_BINPUT: memoises the object on top of the stack; returns its index.
    std::uint32_t put() {
        const auto idx = next_memo_++;
        if (idx < 256) {
            op('q');
            byte(static_cast<unsigned char>(idx));
        } else {
            op('r');
            u32(idx);
        }
        return idx;
    }

    /// BINGET / LONG_BINGET.
    void get(std::uint32_t idx) {
        if (idx < 256) {
            op('h');
            byte(static_cast<unsigned char>(idx));
        } else {
            op('j');
            u32(idx);
        }
    }

    /// GLOBAL 'module\nname\n', memoised once like Python's pickler does for a class.
    void global(const std::string& module, const std::string& name) {
        const auto key = module + "\n" + name;
        if (auto it = memo_.find(key); it != memo_.end()) return get(it->second);
        op('c');
        out_ += module;
        out_ += '\n';
        out_ += name;
        out_ += '\n';
        memo_.emplace(key, put());
    }

    /// BINUNICODE + BINPUT. With @p shared, a string written before is fetched from the memo
    /// instead (Python's pickler does this for one string object used twice, e.g. 'storage').
    void string(const std::string& s, bool shared = false) {
        const auto key = "str\n" + s;
        if (shared)
            if (auto it = memo_.find(key); it != memo_.end()) return get(it->second);
        op('X');
        u32(static_cast<std::uint32_t>(s.size()));
        out_ += s;
        const auto idx = put();
        if (shared) memo_.emplace(key, idx);
    }

    void integer(std::int64_t v) {
        if (v >= 0 && v <= 0xff) {
            op('K');
            byte(static_cast<unsigned char>(v));
        } else if (v >= 0 && v <= 0xffff) {
            op('M');
            byte(static_cast<unsigned char>(v));
            byte(static_cast<unsigned char>(v >> 8));
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            op('J');
            u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
        } else {
            // LONG1: the shortest little-endian two's complement encoding
            std::string bytes;
            auto x = static_cast<std::uint64_t>(v);
            for (int i = 0; i < 8; ++i) bytes += static_cast<char>((x >> (8 * i)) & 0xff);
            while (bytes.size() > 1) {
                const auto last = static_cast<unsigned char>(bytes.back());
                const auto prev = static_cast<unsigned char>(bytes[bytes.size() - 2]);
                if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80))) bytes.pop_back();
                else break;
            }
            op(0x8a);
            byte(static_cast<unsigned char>(bytes.size()));
            out_ += bytes;
        }
    }

    /// A tuple of ints: EMPTY_TUPLE, TUPLE1..3 or MARK ... TUPLE, then BINPUT (not for the empty one).
    void int_tuple(const std::vector<std::int64_t>& v) {
        if (v.empty()) {
            op(')');
            return;
        }
        if (v.size() > 3) op('(');
        for (const auto x : v) integer(x);
        end_tuple(v.size());
    }

    /// Closes a tuple of @p n (> 0) items already pushed (after MARK when n > 3) and memoises it.
    void end_tuple(std::size_t n) {
        switch (n) {
        case 1: op(0x85); break;
        case 2: op(0x86); break;
        case 3: op(0x87); break;
        default: op('t'); break;
        }
        put();
    }

    /// `collections.OrderedDict()`: GLOBAL, EMPTY_TUPLE, REDUCE, BINPUT.
    void empty_ordered_dict() {
        global("collections", "OrderedDict");
        op(')');
        op('R');
        put();
    }

    std::string take() && { return std::move(out_); }

  private:
    std::string out_;
    std::uint32_t next_memo_ = 0;
    std::unordered_map<std::string, std::uint32_t> memo_;
};

// How one tensor refers to its storage.
struct TensorRef {
    std::size_t storage = 0;
    std::int64_t offset = 0;
    std::vector<std::int64_t> size, stride;
};

// One storage record of the archive.
struct StorageRecord {
    TensorDType dtype = TensorDType::float32;
    std::int64_t numel = 0;
    std::string key;
    std::shared_ptr<const std::vector<std::byte>> bytes;
};

// Module prefixes of the keys in first-use order, parents first: "" then "a", "a.b", ...
std::vector<std::string> module_prefixes(const TensorMap& tensors) {
    std::vector<std::string> out{""};
    std::unordered_set<std::string> seen{""};
    for (const auto& [name, t] : tensors) {
        for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
            auto prefix = name.substr(0, dot);
            if (seen.insert(prefix).second) out.push_back(std::move(prefix));
        }
    }
    return out;
}

// The pickler saves dict items in batches of 1000: SETITEM for a batch of one, MARK ... SETITEMS otherwise.
template <class F> void save_items(Pickler& p, std::size_t n, F&& save_item) {
    constexpr std::size_t kBatch = 1000;
    for (std::size_t start = 0; start < n; start += kBatch) {
        const auto end = std::min(n, start + kBatch);
        if (end - start == 1) {
            save_item(start);
            p.op('s');
            continue;
        }
        p.op('(');
        for (auto i = start; i < end; ++i) save_item(i);
        p.op('u');
    }
}

std::string state_dict_pickle(const TensorMap& tensors, const std::vector<TensorRef>& refs,
                              const std::vector<StorageRecord>& storages, bool module_metadata) {
    Pickler p;
    p.empty_ordered_dict();
    save_items(p, tensors.size(), [&](std::size_t i) {
        const auto& ref = refs[i];
        const auto& s = storages[ref.storage];
        p.string(tensors[i].first);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.op('('); // the 6 arguments
        p.op('('); // the persistent id ('storage', type, key, 'cpu', numel)
        p.string("storage", true);
        p.global("torch", storage_class(s.dtype));
        p.string(s.key, true);
        p.string("cpu", true);
        p.integer(s.numel);
        p.end_tuple(5);
        p.op('Q'); // BINPERSID
        p.integer(ref.offset);
        p.int_tuple(ref.size);
        p.int_tuple(ref.stride);
        p.op(0x89);             // requires_grad False
        p.empty_ordered_dict(); // backward hooks
        p.end_tuple(6);
        p.op('R');
        p.put();
    });
    if (module_metadata) {
        const auto prefixes = module_prefixes(tensors);
        p.op('}'); // the state BUILD applies: {'_metadata': OrderedDict(...)}
        p.put();
        p.string("_metadata");
        p.empty_ordered_dict();
        save_items(p, prefixes.size(), [&](std::size_t i) {
            p.string(prefixes[i]);
            p.op('}');
            p.put();
            p.string("version", true);
            p.integer(1);
            p.op('s');
        });
        p.op('s');
        p.op('b'); // BUILD
    }
    p.op('.');
    return std::move(p).take();
}

// Decides which storage records the archive holds and how each tensor refers to one.
void plan_storages(const TensorMap& tensors, const TorchWriteOptions& options, const std::string& path,
                   std::vector<TensorRef>& refs, std::vector<StorageRecord>& storages) {
    // a storage seen with two dtypes cannot be one typed storage
    std::unordered_map<const std::vector<std::byte>*, std::set<TensorDType>> dtypes_of;
    for (const auto& [name, t] : tensors)
        if (t.storage) dtypes_of[t.storage.get()].insert(t.dtype);

    std::unordered_map<const std::vector<std::byte>*, std::size_t> record_of;
    std::unordered_set<std::string> names;
    for (const auto& [name, t] : tensors) {
        const auto what = fmt::format("{}: tensor '{}'", path, name);
        if (name.empty()) throw Error(fmt::format("{}: a tensor has an empty name", path));
        if (!names.insert(name).second) throw Error(fmt::format("{}: tensor name '{}' appears twice", path, name));
        for (const auto d : t.shape)
            if (d < 0) throw Error(fmt::format("{}: negative dimension {}", what, d));
        const auto esize = static_cast<std::int64_t>(tensor_dtype_size(t.dtype));

        // validates the view (inside its storage, sizes not overflowing) and gives its bytes in order
        auto materialise = [&, &t = t] {
            auto bytes = std::make_shared<const std::vector<std::byte>>(tensor_contiguous_bytes(t, what));
            StorageRecord s;
            s.dtype = t.dtype;
            s.numel = static_cast<std::int64_t>(bytes->size()) / esize;
            s.bytes = std::move(bytes);
            storages.push_back(std::move(s));
            TensorRef r;
            r.storage = storages.size() - 1;
            r.size = t.shape;
            r.stride = torch_contiguous_strides(t.shape);
            refs.push_back(std::move(r));
        };

        const bool shareable = !options.contiguous && t.storage && dtypes_of[t.storage.get()].size() == 1 &&
                               t.storage->size() % static_cast<std::size_t>(esize) == 0 && t.storage_offset >= 0 &&
                               std::all_of(t.strides.begin(), t.strides.end(), [](auto s) { return s >= 0; });
        if (!shareable) {
            materialise();
            continue;
        }
        // the range check tensor_contiguous_bytes() makes, without the copy
        const auto rank = t.shape.size();
        const auto strides = t.strides.empty() ? torch_contiguous_strides(t.shape) : t.strides;
        if (strides.size() != rank) throw Error(fmt::format("{}: {} strides for {} dimensions", what, strides.size(), rank));
        const auto capacity = static_cast<std::int64_t>(t.storage->size()) / esize;
        std::int64_t last = t.storage_offset, count = 1;
        for (std::size_t i = 0; i < rank; ++i) {
            count = checked_mul(count, t.shape[i], what);
            if (t.shape[i] > 0) last = checked_add(last, checked_mul(t.shape[i] - 1, strides[i], what), what);
        }
        if (count > 0 && last >= capacity)
            throw Error(fmt::format("{}: view reaches element {} of a storage of {} elements", what, last, capacity));

        auto [it, fresh] = record_of.emplace(t.storage.get(), storages.size());
        if (fresh) {
            StorageRecord s;
            s.dtype = t.dtype;
            s.numel = capacity;
            s.bytes = t.storage;
            storages.push_back(std::move(s));
        }
        TensorRef r;
        r.storage = it->second;
        r.offset = t.storage_offset;
        r.size = t.shape;
        r.stride = strides;
        refs.push_back(std::move(r));
    }
    for (std::size_t i = 0; i < storages.size(); ++i) storages[i].key = std::to_string(i);
}

// --- the zip container ---

struct ZipDiscard {
    void operator()(zip_t* z) const {
        if (z) zip_discard(z);
    }
};

// One record of the archive: its name and bytes (owned elsewhere, alive until the zip is closed).
struct Record {
    std::string name;
    const void* data = nullptr;
    std::uint64_t size = 0;
    std::uint64_t header_offset = 0; // where its local header will start
    std::uint16_t extra = 0;         // bytes of padding extra field (header included)
};

std::uint32_t le32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint16_t le16(const unsigned char* p) {
    return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}

// Checks that libzip laid the records out as planned (stored, no data descriptors, each
// record's bytes 64-byte aligned), so a change in libzip cannot silently break alignment.
void verify_layout(const std::string& file, const std::vector<Record>& records, const std::string& path) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot reopen the written archive", path));
    for (const auto& r : records) {
        std::array<unsigned char, kLocalHeaderSize> h{};
        in.seekg(static_cast<std::streamoff>(r.header_offset));
        in.read(reinterpret_cast<char*>(h.data()), h.size());
        const auto data_at = r.header_offset + kLocalHeaderSize + r.name.size() + r.extra;
        if (!in || le32(h.data()) != 0x04034b50u || le16(h.data() + 8) != 0 || (le16(h.data() + 6) & 0x8) != 0 ||
            le32(h.data() + 18) != r.size || le16(h.data() + 26) != r.name.size() || le16(h.data() + 28) != r.extra ||
            data_at % kAlignment != 0)
            throw Error(fmt::format("{}: the zip library did not lay out record '{}' as planned (stored, 64-byte "
                                    "aligned); the archive would not match torch.save's layout",
                                    path, r.name));
    }
}

void write_zip(const std::string& file, std::vector<Record>& records, const std::string& path) {
    // plan the offsets: local header (30 bytes + name + extra) then the bytes, no data descriptor
    std::uint64_t offset = 0;
    for (auto& r : records) {
        if (r.size >= 0xffffffffULL || offset >= 0xffffffffULL)
            throw Error(fmt::format("{}: record '{}' would need zip64 (over 4 GiB), which is not written", path,
                                    r.name));
        r.header_offset = offset;
        const auto unpadded = offset + kLocalHeaderSize + r.name.size() + 4;
        r.extra = static_cast<std::uint16_t>(4 + (kAlignment - unpadded % kAlignment) % kAlignment);
        offset += kLocalHeaderSize + r.name.size() + r.extra + r.size;
    }

    int err = 0;
    std::unique_ptr<zip_t, ZipDiscard> za(zip_open(file.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
    if (!za) throw Error(fmt::format("{}: cannot create the archive ({})", path, zip_error_text(err)));
    const std::vector<zip_uint8_t> padding(kAlignment, 'Z');
    for (const auto& r : records) {
        zip_source_t* src = zip_source_buffer(za.get(), r.data, r.size, 0);
        if (!src) throw Error(fmt::format("{}: cannot add '{}' ({})", path, r.name, zip_strerror(za.get())));
        const auto idx = zip_file_add(za.get(), r.name.c_str(), src, ZIP_FL_ENC_UTF_8);
        if (idx < 0) {
            zip_source_free(src);
            throw Error(fmt::format("{}: cannot add '{}' ({})", path, r.name, zip_strerror(za.get())));
        }
        const auto i = static_cast<zip_uint64_t>(idx);
        // torch writes dates as 0; 1980-01-01 00:00 is the earliest valid DOS date and keeps files reproducible
        if (zip_set_file_compression(za.get(), i, ZIP_CM_STORE, 0) != 0 ||
            zip_file_set_dostime(za.get(), i, 0, (0 << 9) | (1 << 5) | 1, 0) != 0 ||
            zip_file_extra_field_set(za.get(), i, kPaddingFieldId, ZIP_EXTRA_FIELD_NEW, padding.data(),
                                     static_cast<zip_uint16_t>(r.extra - 4), ZIP_FL_LOCAL) != 0)
            throw Error(fmt::format("{}: cannot set up '{}' ({})", path, r.name, zip_strerror(za.get())));
    }
    if (zip_close(za.get()) != 0)
        throw Error(fmt::format("{}: cannot write the archive ({})", path, zip_strerror(za.get())));
    za.release(); // zip_close freed it
    verify_layout(file, records, path);
}

} // namespace

void write_torch_checkpoint(const TensorMap& tensors, const std::string& path, const TorchWriteOptions& options) {
    if (tensors.empty()) throw Error(fmt::format("{}: no tensors to write", path));
    std::string folder = options.archive_name;
    if (folder.empty()) folder = std::filesystem::path(path).stem().string();
    if (folder.empty() || folder.find('/') != std::string::npos)
        throw Error(fmt::format("{}: archive folder name '{}' is empty or holds a '/'", path, folder));

    std::vector<TensorRef> refs;
    std::vector<StorageRecord> storages;
    plan_storages(tensors, options, path, refs, storages);
    const std::string pickle = state_dict_pickle(tensors, refs, storages, options.module_metadata);
    static const std::string byteorder = "little";
    static const std::string version = "3\n";

    std::vector<Record> records;
    const auto prefix = folder + "/";
    records.push_back({prefix + "data.pkl", pickle.data(), pickle.size()});
    records.push_back({prefix + "byteorder", byteorder.data(), byteorder.size()});
    std::vector<std::size_t> order(storages.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return storages[a].key < storages[b].key; });
    for (const auto i : order) {
        const auto& s = storages[i];
        records.push_back({prefix + "data/" + s.key, s.bytes->data(), s.bytes->size()});
    }
    records.push_back({prefix + "version", version.data(), version.size()});

    AtomicOutput out(path);
    write_zip(out.temp_path().string(), records, path);
    out.commit();
}

} // namespace scx
