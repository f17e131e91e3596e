#include "scextract/io/torch_checkpoint.hpp"

#include "scextract/core/checked_math.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/restricted_pickle.hpp"
#include "scextract/io/zip_error.hpp"

#include <zip.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace scx {

namespace {

using pickle::Value;
using pickle::ValuePtr;
using Kind = Value::Kind;

const char* const kTensorsOnly = "checkpoints may only contain tensors";

// A storage as a persistent id names it: the bytes of `<folder>/data/<key>`.
struct StorageRef {
    TensorDType dtype = TensorDType::uint8;
    std::int64_t numel = 0;
    std::string key;
    std::shared_ptr<const std::vector<std::byte>> bytes;
};

constexpr const char* kStorageType = "torch.storage";
constexpr const char* kTensorType = "torch.Tensor";

// torch.FloatStorage and friends; "torch.cuda" storages come from GPU saves before torch 1.13.
std::optional<TensorDType> storage_class_dtype(const std::string& name) {
    static const std::map<std::string, TensorDType, std::less<>> classes = {
        {"FloatStorage", TensorDType::float32}, {"HalfStorage", TensorDType::float16},
        {"BFloat16Storage", TensorDType::bfloat16}, {"DoubleStorage", TensorDType::float64},
        {"LongStorage", TensorDType::int64}, {"IntStorage", TensorDType::int32},
        {"ShortStorage", TensorDType::int16}, {"CharStorage", TensorDType::int8},
        {"ByteStorage", TensorDType::uint8}, {"BoolStorage", TensorDType::bool_},
        // untyped storages count bytes
        {"UntypedStorage", TensorDType::uint8}, {"_UntypedStorage", TensorDType::uint8}};
    auto it = classes.find(name);
    if (it == classes.end()) return std::nullopt;
    return it->second;
}

// torch.float32 etc. (a torch.dtype pickles as the global torch.<name>).
std::optional<TensorDType> dtype_global(const std::string& name) {
    static const std::map<std::string, TensorDType, std::less<>> dtypes = {
        {"float32", TensorDType::float32}, {"float16", TensorDType::float16}, {"bfloat16", TensorDType::bfloat16},
        {"float64", TensorDType::float64}, {"int64", TensorDType::int64},     {"int32", TensorDType::int32},
        {"int16", TensorDType::int16},     {"int8", TensorDType::int8},       {"uint8", TensorDType::uint8},
        {"bool", TensorDType::bool_}};
    auto it = dtypes.find(name);
    if (it == dtypes.end()) return std::nullopt;
    return it->second;
}

bool is_storage_module(const std::string& m) { return m == "torch" || m == "torch.cuda" || m == "torch.storage"; }

bool is_global(const Value& v, std::string_view module, std::string_view name) {
    return v.kind == Kind::global && v.module == module && v.name == name;
}

bool is_tensor(const Value& v) { return v.kind == Kind::object && v.text == kTensorType; }

std::vector<std::int64_t> int_tuple(const Value& v, const std::string& what, const char* field) {
    if (v.kind != Kind::tuple && v.kind != Kind::list)
        throw Error(fmt::format("{}: tensor {} is a pickled '{}', not a tuple", what, field, pickle::type_name(v)));
    std::vector<std::int64_t> out;
    out.reserve(v.items.size());
    for (const auto& item : v.items) {
        if (item->kind != Kind::integer || item->integer < 0)
            throw Error(fmt::format("{}: tensor {} holds a {} that is not a non-negative int", what, field,
                                    pickle::type_name(*item)));
        out.push_back(item->integer);
    }
    return out;
}

// PyTorch's notion: strides of size-1 dimensions do not matter.
bool is_contiguous(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides) {
    std::int64_t expected = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        if (shape[i] == 0) return true;
        if (shape[i] != 1 && strides[i] != expected) return false;
        expected *= shape[i];
    }
    return true;
}

// The policy: which globals may appear, what calling them means, where storages come from.
class TorchResolver final : public pickle::Resolver {
  public:
    explicit TorchResolver(const TorchStorageLoader& load) : load_(load) {}

    ValuePtr find_class(const std::string& module, const std::string& name, const std::string& what) override {
        if (module == "collections" && name == "OrderedDict") return pickle::make_global(module, name);
        if (module == "torch._utils" &&
            (name == "_rebuild_tensor_v2" || name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state"))
            return pickle::make_global(module, name);
        if (is_storage_module(module) && storage_class_dtype(name)) return pickle::make_global(module, name);
        if (module == "torch" && dtype_global(name)) return pickle::make_global(module, name);
        if (is_storage_module(module) && name.ends_with("Storage"))
            throw Error(fmt::format("{}: unsupported tensor storage type '{}.{}' (supported: float, half, bfloat16, "
                                    "double, long, int, short, char, byte and bool)",
                                    what, module, name));
        throw Error(fmt::format("{}: refusing pickle global '{}.{}': {}", what, module, name, kTensorsOnly));
    }

    ValuePtr reduce(const Value& callable, const Value& args, const std::string& what) override {
        const auto& a = args.items;
        if (is_global(callable, "collections", "OrderedDict")) {
            if (!a.empty())
                throw Error(fmt::format("{}: OrderedDict called with {} arguments; expected none", what, a.size()));
            auto d = std::make_shared<Value>();
            d->kind = Kind::dict;
            return d;
        }
        if (is_global(callable, "torch._utils", "_rebuild_tensor_v2")) return rebuild_tensor(a, what);
        if (is_global(callable, "torch._utils", "_rebuild_parameter") ||
            is_global(callable, "torch._utils", "_rebuild_parameter_with_state")) {
            // (data, requires_grad, backward_hooks[, state]): the parameter is its data
            const std::size_t n = callable.name == "_rebuild_parameter" ? 3 : 4;
            if (a.size() != n || !is_tensor(*a[0]))
                throw Error(fmt::format("{}: {} expects a tensor and {} more arguments", what, callable.name, n - 1));
            return a[0];
        }
        throw Error(fmt::format("{}: refusing to call '{}' from a pickle: {}", what, pickle::type_name(callable),
                                kTensorsOnly));
    }

    ValuePtr persistent_load(const Value& pid, const std::string& what) override {
        // ('storage', storage type, key, location, numel)
        if (pid.kind != Kind::tuple || pid.items.size() != 5 || pid.items[0]->kind != Kind::string ||
            pid.items[0]->text != "storage")
            throw Error(fmt::format("{}: unexpected persistent id (a '{}'); expected ('storage', type, key, "
                                    "location, numel)",
                                    what, pickle::type_name(pid)));
        const auto& type = *pid.items[1];
        const auto& key = *pid.items[2];
        const auto& numel = *pid.items[4];
        std::optional<TensorDType> dtype;
        if (type.kind == Kind::global)
            dtype = type.module == "torch" && dtype_global(type.name) ? dtype_global(type.name)
                                                                      : storage_class_dtype(type.name);
        if (!dtype) throw Error(fmt::format("{}: storage type '{}' is not a tensor storage", what, pickle::type_name(type)));
        if (key.kind != Kind::string || key.text.empty())
            throw Error(fmt::format("{}: storage key is a '{}', not a name", what, pickle::type_name(key)));
        if (numel.kind != Kind::integer || numel.integer < 0)
            throw Error(fmt::format("{}: storage '{}' has no valid element count", what, key.text));
        auto it = storages_.find(key.text);
        if (it != storages_.end()) {
            const auto& s = it->second;
            if (s.dtype != *dtype || s.numel != numel.integer)
                throw Error(fmt::format("{}: storage '{}' is referenced both as {} x {} and as {} x {}", what, key.text,
                                        s.numel, tensor_dtype_name(s.dtype), numel.integer, tensor_dtype_name(*dtype)));
            return pickle::make_object(kStorageType, s);
        }
        StorageRef s;
        s.dtype = *dtype;
        s.numel = numel.integer;
        s.key = key.text;
        const auto nbytes = checked_mul(s.numel, static_cast<std::int64_t>(tensor_dtype_size(s.dtype)),
                                        fmt::format("{}: storage '{}'", what, s.key));
        s.bytes = load_(s.key, static_cast<std::uint64_t>(nbytes));
        if (!s.bytes || s.bytes->size() != static_cast<std::uint64_t>(nbytes))
            throw Error(fmt::format("{}: storage '{}' has {} bytes; expected {} ({} x {})", what, s.key,
                                    s.bytes ? s.bytes->size() : 0, nbytes, s.numel, tensor_dtype_name(s.dtype)));
        storages_.emplace(s.key, s);
        return pickle::make_object(kStorageType, std::move(s));
    }

    void build(Value& target, const Value& state, const std::string& what) override {
        // nn.Module.state_dict() sets OrderedDict._metadata (per-module versions): harmless, dropped.
        if (target.kind == Kind::dict && state.kind == Kind::dict &&
            std::all_of(state.entries.begin(), state.entries.end(), [](const auto& kv) {
                return kv.first->kind == Kind::string && kv.first->text == "_metadata";
            }))
            return;
        throw Error(fmt::format("{}: refusing to set the state of a pickled '{}' (only an OrderedDict's _metadata is "
                                "accepted): {}",
                                what, pickle::type_name(target), kTensorsOnly));
    }

  private:
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a, const std::string& what) const {
        if (a.size() != 6 && a.size() != 7)
            throw Error(fmt::format("{}: _rebuild_tensor_v2 called with {} arguments; expected 6 or 7", what, a.size()));
        if (a[0]->kind != Kind::object || a[0]->text != kStorageType)
            throw Error(fmt::format("{}: _rebuild_tensor_v2 needs a storage, got a '{}'", what, pickle::type_name(*a[0])));
        const auto& s = std::any_cast<const StorageRef&>(a[0]->payload);
        if (a[1]->kind != Kind::integer || a[1]->integer < 0)
            throw Error(fmt::format("{}: tensor on storage '{}' has an invalid storage offset", what, s.key));
        Tensor t;
        t.dtype = s.dtype;
        t.storage = s.bytes;
        t.storage_offset = a[1]->integer;
        t.shape = int_tuple(*a[2], what, "size");
        t.strides = int_tuple(*a[3], what, "stride");
        if (t.strides.size() != t.shape.size())
            throw Error(fmt::format("{}: tensor on storage '{}' has {} sizes but {} strides", what, s.key,
                                    t.shape.size(), t.strides.size()));
        // every element the view reaches must lie inside the storage
        const std::string ctx = "tensor on storage '" + s.key + "'";
        const std::string overflow_ctx = what + ": " + ctx;
        std::int64_t last = t.storage_offset, count = 1;
        for (std::size_t i = 0; i < t.shape.size(); ++i) {
            count = checked_mul(count, t.shape[i], overflow_ctx);
            if (t.shape[i] > 0)
                last = checked_add(last, checked_mul(t.shape[i] - 1, t.strides[i], overflow_ctx), overflow_ctx);
        }
        if (count > 0 && last >= s.numel)
            throw Error(fmt::format("{}: {} reaches element {} of a storage of {} elements", what, ctx, last, s.numel));
        // Views that do not overlap have at most as many elements as their storage; more means
        // zero or overlapping strides (expand()), which a state dict has no need of and which
        // would be materialised at full size (1e5 x 1e5 from one float: 40 GB).
        if (count > s.numel)
            throw Error(fmt::format("{}: {} has {} elements, more than the {} of its storage (zero or overlapping "
                                    "strides, as expand() makes); save it with .contiguous() or .clone()",
                                    what, ctx, count, s.numel));
        if (is_contiguous(t.shape, t.strides)) t.strides.clear();
        return pickle::make_object(kTensorType, std::move(t));
    }

    const TorchStorageLoader& load_;
    std::map<std::string, StorageRef> storages_;
};

std::string describe(const Value& v) {
    if (v.kind == Kind::dict) return fmt::format("dict of {}", v.entries.size());
    return pickle::type_name(v);
}

std::size_t count_tensors(const Value& dict) {
    std::size_t n = 0;
    for (const auto& [k, v] : dict.entries) n += is_tensor(*v) ? 1 : 0;
    return n;
}

TorchCheckpoint extract_state_dict(const Value& root, const std::string& what) {
    TorchCheckpoint out;
    if (is_tensor(root))
        throw Error(fmt::format("{}: holds a single tensor, not a state dict (torch.save(model.state_dict(), f) "
                                "writes one)",
                                what));
    if (root.kind != Kind::dict)
        throw Error(fmt::format("{}: holds a pickled '{}', not a state dict", what, pickle::type_name(root)));
    const Value* sd = nullptr;
    for (const char* key : {"model_state_dict", "state_dict", "model"}) {
        auto v = root.get(key);
        if (v && v->kind == Kind::dict && count_tensors(*v) > 0) {
            sd = v.get();
            out.wrapper_key = key;
            break;
        }
    }
    if (sd == nullptr) {
        if (count_tensors(root) == 0) {
            std::string keys;
            for (const auto& [k, v] : root.entries) {
                if (keys.size() > 200) {
                    keys += ", ...";
                    break;
                }
                if (!keys.empty()) keys += ", ";
                keys += (k->kind == Kind::string ? "'" + k->text + "'" : pickle::type_name(*k)) + " (" + describe(*v) + ")";
            }
            throw Error(fmt::format("{}: no tensors found, neither at the top level nor under 'model_state_dict', "
                                    "'state_dict' or 'model' (top-level keys: {})",
                                    what, keys.empty() ? "none" : keys));
        }
        sd = &root;
    }
    for (const auto& [k, v] : sd->entries) {
        if (k->kind != Kind::string) {
            out.skipped.push_back(fmt::format("<{} key> ({})", pickle::type_name(*k), describe(*v)));
            continue;
        }
        if (is_tensor(*v)) out.tensors.emplace_back(k->text, std::any_cast<const Tensor&>(v->payload));
        else out.skipped.push_back(fmt::format("{} ({})", k->text, describe(*v)));
    }
    return out;
}

// --- the zip container ---

struct ZipDiscard {
    void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
    void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

// pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): the magic number legacy torch.save writes first.
constexpr std::array<unsigned char, 12> kLegacyMagic = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                                        0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

// Refuses what is not a zip before libzip sees it, with a message for each common case.
void check_signature(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("{}: is a directory, not a checkpoint file", path));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open", path));
    std::array<unsigned char, 32> head{};
    in.read(reinterpret_cast<char*>(head.data()), head.size());
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) throw Error(fmt::format("{}: empty file, not a PyTorch checkpoint", path));
    if (got >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5)) return;
    const auto end = head.begin() + static_cast<std::ptrdiff_t>(got);
    if (std::search(head.begin(), end, kLegacyMagic.begin(), kLegacyMagic.end()) != end)
        throw Error(fmt::format("{}: PyTorch's legacy (pre-1.6, non-zip) checkpoint format, which is not read; convert "
                                "it in Python with torch.save(torch.load(f), g) (any PyTorch >= 1.6 writes the zip "
                                "format) or save the state dict as safetensors",
                                path));
    if (head[0] == 0x80)
        throw Error(fmt::format("{}: a bare Python pickle, not a torch.save zip archive; re-save it with torch.save", path));
    throw Error(fmt::format("{}: not a PyTorch checkpoint (torch.save writes a zip archive; this file does not start "
                            "with a zip signature)",
                            path));
}

class Archive {
  public:
    explicit Archive(std::string path) : path_(std::move(path)) {
        int err = 0;
        zip_.reset(zip_open(path_.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
        if (!zip_)
            throw Error(fmt::format("{}: not a readable zip archive ({}); the file may be truncated or damaged", path_,
                                    zip_error_text(err)));
        std::error_code ec;
        archive_bytes_ = std::filesystem::file_size(path_, ec);
        if (ec) throw Error(fmt::format("{}: cannot read its size ({})", path_, ec.message()));
    }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        const auto n = zip_get_num_entries(zip_.get(), 0);
        for (zip_int64_t i = 0; i < n; ++i) {
            const char* name = zip_get_name(zip_.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
            if (name) out.emplace_back(name);
        }
        return out;
    }

    bool has(const std::string& name) const { return zip_name_locate(zip_.get(), name.c_str(), ZIP_FL_ENC_RAW) >= 0; }

    zip_stat_t stat(const std::string& name) const {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat(zip_.get(), name.c_str(), ZIP_FL_ENC_RAW, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
            throw Error(fmt::format("{}: cannot stat '{}' ({})", path_, name, zip_strerror(zip_.get())));
        return st;
    }

    std::uint64_t size_of(const std::string& name) const { return stat(name).size; }

    /// The whole entry, which must be exactly @p expected bytes long. Its declared sizes are
    /// checked against the archive and this machine's memory before anything is allocated,
    /// a compressed entry is inflated in bounded pieces (a lying size fails on the bytes that
    /// are really there), and the entry is read to its end, where libzip checks its CRC-32.
    std::vector<std::byte> read(const std::string& name, std::uint64_t expected) const {
        const auto st = stat(name);
        if (st.size != expected)
            throw Error(fmt::format("{}: '{}' is {} bytes; expected {}", path_, name, st.size, expected));
        const bool stored = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE;
        if (st.valid & ZIP_STAT_COMP_SIZE) {
            if (st.comp_size > archive_bytes_)
                throw Error(fmt::format("{}: '{}' declares {} compressed bytes in an archive of {}; the file is damaged",
                                        path_, name, st.comp_size, archive_bytes_));
            if (stored && st.comp_size != st.size)
                throw Error(fmt::format("{}: stored entry '{}' declares {} bytes but holds {}; the file is damaged",
                                        path_, name, st.size, st.comp_size));
            // deflate cannot expand data by more than about 1032:1
            if (!stored && st.size / 1032 > st.comp_size + 1)
                throw Error(fmt::format("{}: '{}' declares {} bytes from {} compressed, more than deflate can expand;"
                                        " the file is damaged",
                                        path_, name, st.size, st.comp_size));
        }
        const double memory = physical_memory_bytes();
        if (memory > 0 && static_cast<double>(expected) > memory)
            throw Error(fmt::format("{}: '{}' would need {:.1f} GB, more than this machine's {:.1f} GB of memory", path_,
                                    name, static_cast<double>(expected) / 1e9, memory / 1e9));
        std::unique_ptr<zip_file_t, ZipFileClose> f(zip_fopen(zip_.get(), name.c_str(), ZIP_FL_ENC_RAW));
        if (!f) throw Error(fmt::format("{}: cannot open '{}' in the archive ({})", path_, name, zip_strerror(zip_.get())));
        constexpr std::uint64_t kPiece = std::uint64_t{64} << 20;
        std::vector<std::byte> buf;
        // a stored entry's bytes are in the file (checked above); a compressed one grows as it inflates
        buf.resize(static_cast<std::size_t>(stored ? expected : std::min(expected, kPiece)));
        std::uint64_t done = 0;
        while (done < expected) {
            if (done == buf.size()) buf.resize(static_cast<std::size_t>(std::min(expected, 2 * done)));
            const auto r = zip_fread(f.get(), buf.data() + done, buf.size() - done);
            if (r < 0)
                throw Error(fmt::format("{}: cannot read '{}' ({}); the file may be damaged", path_, name,
                                        zip_file_strerror(f.get())));
            if (r == 0) break;
            done += static_cast<std::uint64_t>(r);
        }
        if (done != expected)
            throw Error(fmt::format("{}: '{}' ends after {} of {} bytes; the file may be truncated", path_, name, done,
                                    expected));
        std::byte extra{};
        // libzip compares the CRC-32 of what it returned with the archive's when a read reaches the end
        const auto tail = zip_fread(f.get(), &extra, 1);
        if (tail < 0 && zip_error_code_zip(zip_file_get_error(f.get())) == ZIP_ER_CRC)
            throw Error(fmt::format("{}: '{}' fails its CRC-32 check; the file is damaged", path_, name));
        if (tail != 0)
            throw Error(fmt::format("{}: '{}' holds more than its declared {} bytes ({}); the file is damaged", path_,
                                    name, expected, tail < 0 ? zip_file_strerror(f.get()) : "more data follows"));
        return buf;
    }

  private:
    std::string path_;
    ZipPtr zip_;
    std::uint64_t archive_bytes_ = 0;
};

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

constexpr std::uint64_t kMaxPickleBytes = std::uint64_t{1} << 30;

} // namespace

TorchCheckpoint parse_torch_pickle(std::span<const std::byte> pickle_bytes, const TorchStorageLoader& load_storage,
                                   const std::string& what) {
    TorchResolver resolver(load_storage);
    const auto unpickled = pickle::unpickle(pickle_bytes, resolver, what);
    return extract_state_dict(*unpickled.root, what);
}

TorchCheckpoint read_torch_checkpoint(const std::string& path) {
    check_signature(path);
    const Archive zip(path);

    // torch writes every record under one top-level folder named after the file (any name).
    std::vector<std::string> folders;
    bool torchscript = false;
    for (const auto& name : zip.names()) {
        const auto slash = name.find('/');
        if (slash == std::string::npos) continue;
        const auto rest = std::string_view(name).substr(slash + 1);
        if (rest == "data.pkl") folders.push_back(name.substr(0, slash));
        if (rest == "constants.pkl" || rest.starts_with("code/")) torchscript = true;
    }
    if (folders.empty())
        throw Error(fmt::format("{}: zip archive without a '<folder>/data.pkl' entry: not written by torch.save", path));
    if (folders.size() > 1)
        throw Error(fmt::format("{}: zip archive holds {} checkpoints ('{}/data.pkl', '{}/data.pkl', ...); expected one",
                                path, folders.size(), folders[0], folders[1]));
    TorchCheckpoint out;
    const std::string folder = folders[0];
    const std::string prefix = folder + "/";

    if (zip.has(prefix + "byteorder")) {
        const auto n = zip.size_of(prefix + "byteorder");
        if (n > 64) throw Error(fmt::format("{}: '{}byteorder' is {} bytes long", path, prefix, n));
        const auto raw = zip.read(prefix + "byteorder", n);
        const auto order = trim(std::string(reinterpret_cast<const char*>(raw.data()), raw.size()));
        if (order == "big")
            throw Error(fmt::format("{}: saved on a big-endian machine; only little-endian checkpoints are read", path));
        if (order != "little") throw Error(fmt::format("{}: unknown byte order '{}' in '{}byteorder'", path, order, prefix));
    }
    std::int64_t version = 0;
    if (zip.has(prefix + "version")) {
        const auto n = zip.size_of(prefix + "version");
        if (n > 64) throw Error(fmt::format("{}: '{}version' is {} bytes long", path, prefix, n));
        const auto raw = zip.read(prefix + "version", n);
        const auto text = trim(std::string(reinterpret_cast<const char*>(raw.data()), raw.size()));
        try {
            std::size_t used = 0;
            version = std::stoll(text, &used);
            if (used != text.size()) throw std::invalid_argument(text);
        } catch (const std::exception&) {
            throw Error(fmt::format("{}: '{}version' holds '{}', not a number", path, prefix, text));
        }
    }

    const auto pkl_size = zip.size_of(prefix + "data.pkl");
    if (pkl_size > kMaxPickleBytes)
        throw Error(fmt::format("{}: '{}data.pkl' is {} bytes, more than a state dict's pickle can be", path, prefix,
                                pkl_size));
    const auto pkl = zip.read(prefix + "data.pkl", pkl_size);

    const std::string what = path;
    const TorchStorageLoader loader = [&](const std::string& key, std::uint64_t nbytes) {
        const auto name = prefix + "data/" + key;
        if (!zip.has(name))
            throw Error(fmt::format("{}: storage '{}' is missing from the archive (no '{}')", path, key, name));
        const auto size = zip.size_of(name);
        if (size != nbytes)
            throw Error(fmt::format("{}: storage '{}' has {} bytes; its tensors need {}", path, name, size, nbytes));
        return std::make_shared<const std::vector<std::byte>>(zip.read(name, nbytes));
    };
    try {
        out = parse_torch_pickle(pkl, loader, what);
    } catch (const Error& e) {
        if (!torchscript) throw;
        throw Error(fmt::format("{} (this is a TorchScript archive written by torch.jit.save; save the model's "
                                "state_dict() with torch.save instead)",
                                e.what()));
    }
    out.archive_folder = folder;
    out.format_version = version;
    return out;
}

} // namespace scx
