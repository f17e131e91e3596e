// PyTorch checkpoints read without executing them: every fixture in tests/fixtures/torch
// (made by make_torch_fixtures.py with torch 1.13) against the values torch reported, the
// refusals, and hand-written pickles for the corners of the restricted pickle machine.

#include "scextract/io/restricted_pickle.hpp"
#include "scextract/core/memory.hpp"
#include "scextract/io/torch_checkpoint.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <zip.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

namespace {

using scx::Tensor;
using scx::TensorDType;
using scx::test::error_of;
namespace fs = std::filesystem;

std::string fixture(const std::string& name) { return std::string(SCX_SOURCE_DIR) + "/tests/fixtures/torch/" + name; }

const nlohmann::json& expected() {
    static const nlohmann::json j = [] {
        std::ifstream in(fixture("expected.json"));
        return nlohmann::json::parse(in);
    }();
    return j;
}

// The elements of a (possibly strided) tensor in row-major order, as doubles, read
// straight from the storage bytes (float16 / bfloat16 through Tensor::to_float).
std::vector<double> values_of(const Tensor& t) {
    if (t.dtype == TensorDType::float16 || t.dtype == TensorDType::bfloat16) {
        const auto f = t.to_float("test");
        return {f.begin(), f.end()};
    }
    const auto rank = t.shape.size();
    auto st = t.strides;
    if (st.empty()) {
        st.assign(rank, 1);
        for (std::size_t i = rank; i-- > 1;) st[i - 1] = st[i] * t.shape[i];
    }
    const auto n = t.numel();
    const auto esize = static_cast<std::int64_t>(scx::tensor_dtype_size(t.dtype));
    std::vector<double> out;
    std::vector<std::int64_t> index(rank, 0);
    for (std::int64_t k = 0; k < n; ++k) {
        std::int64_t e = t.storage_offset;
        for (std::size_t i = 0; i < rank; ++i) e += index[i] * st[i];
        EXPECT_LE((e + 1) * esize, static_cast<std::int64_t>(t.storage->size()));
        const auto* p = t.storage->data() + e * esize;
        auto read = [p]<typename T>(T) {
            T v;
            std::memcpy(&v, p, sizeof v);
            return static_cast<double>(v);
        };
        switch (t.dtype) {
        case TensorDType::float32: out.push_back(read(float{})); break;
        case TensorDType::float64: out.push_back(read(double{})); break;
        case TensorDType::int64: out.push_back(read(std::int64_t{})); break;
        case TensorDType::int32: out.push_back(read(std::int32_t{})); break;
        case TensorDType::int16: out.push_back(read(std::int16_t{})); break;
        case TensorDType::int8: out.push_back(read(std::int8_t{})); break;
        case TensorDType::uint8:
        case TensorDType::bool_: out.push_back(read(std::uint8_t{})); break;
        default: ADD_FAILURE() << "unexpected dtype"; break;
        }
        for (std::size_t i = rank; i-- > 0;) {
            if (++index[i] < t.shape[i]) break;
            index[i] = 0;
        }
    }
    return out;
}

const Tensor& find(const scx::TensorMap& m, const std::string& name) {
    for (const auto& [n, t] : m)
        if (n == name) return t;
    throw std::runtime_error("no tensor " + name);
}

// ------------------------------------------------------------- every loadable fixture

class TorchCheckpointFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchCheckpointFiles, MatchesWhatPyTorchSaved) {
    const auto& file = GetParam();
    const auto& want = expected().at("files").at(file);
    const auto ck = scx::read_torch_checkpoint(fixture(file));

    EXPECT_EQ(ck.archive_folder, want.at("folder").get<std::string>());
    EXPECT_EQ(ck.wrapper_key, want.at("wrapper_key").get<std::string>());
    EXPECT_EQ(ck.format_version, want.at("format_version").get<std::int64_t>());
    EXPECT_EQ(ck.skipped, want.at("skipped").get<std::vector<std::string>>());

    const auto& tensors = want.at("tensors");
    ASSERT_EQ(ck.tensors.size(), tensors.size());
    std::map<std::string, const std::vector<std::byte>*> by_key; // storage key -> pointer
    std::set<const std::vector<std::byte>*> pointers;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& w = tensors[i];
        const auto& [name, t] = ck.tensors[i];
        SCOPED_TRACE(file + ": " + name);
        EXPECT_EQ(name, w.at("name").get<std::string>()); // file order, names as stored
        EXPECT_EQ(scx::tensor_dtype_name(t.dtype), w.at("dtype").get<std::string>());
        EXPECT_EQ(t.shape, w.at("shape").get<std::vector<std::int64_t>>());
        if (w.at("strides").is_null()) EXPECT_TRUE(t.strides.empty());
        else EXPECT_EQ(t.strides, w.at("strides").get<std::vector<std::int64_t>>());
        EXPECT_EQ(t.storage_offset, w.at("storage_offset").get<std::int64_t>());
        ASSERT_TRUE(t.storage);
        EXPECT_EQ(values_of(t), w.at("values").get<std::vector<double>>()); // exact
        // tensors torch saved from one storage share one buffer; others do not
        const auto key = w.at("storage").get<std::string>();
        auto [it, fresh] = by_key.emplace(key, t.storage.get());
        if (fresh) EXPECT_TRUE(pointers.insert(t.storage.get()).second) << "storage " << key << " is shared wrongly";
        else EXPECT_EQ(it->second, t.storage.get()) << "storage " << key << " is not shared";
    }
}

const std::vector<std::string> kLoadable = {"plain.pt",        "protocol4.pt",     "protocol5.pt",
                                            "wrapped_model_state_dict.pt", "wrapped_state_dict.pt",
                                            "module_prefix.pt", "weird.name.pt",    "renamed_folder.pt"};

INSTANTIATE_TEST_SUITE_P(TorchFixtures, TorchCheckpointFiles, ::testing::ValuesIn(kLoadable),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (auto& c : s)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return s;
                         });

TEST(TorchCheckpoint, EveryExpectedFileIsTested) {
    std::set<std::string> listed;
    for (const auto& [name, _] : expected().at("files").items()) listed.insert(name);
    EXPECT_EQ(listed, std::set<std::string>(kLoadable.begin(), kLoadable.end()));
}

// ------------------------------------------------------------- specific properties

TEST(TorchCheckpoint, KeepsViewsStridesAndSharedStorages) {
    const auto ck = scx::read_torch_checkpoint(fixture("plain.pt"));
    const auto& view = find(ck.tensors, "view.offset"); // base[3:7] of a 10-element storage
    EXPECT_EQ(view.storage_offset, 3);
    EXPECT_EQ(view.shape, (std::vector<std::int64_t>{4}));
    EXPECT_EQ(view.storage->size(), 10u * 4u);
    EXPECT_EQ(view.to_float("view"), (std::vector<float>{1.5f, 2.0f, 2.5f, 3.0f}));

    const auto& wt = find(ck.tensors, "linear.weight_t"); // w.t() of [[1,2,3],[4,5,6]]
    EXPECT_EQ(wt.shape, (std::vector<std::int64_t>{3, 2}));
    EXPECT_EQ(wt.strides, (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(wt.to_float("wt"), (std::vector<float>{1, 4, 2, 5, 3, 6}));

    const auto& flat = find(ck.tensors, "shared.flat");
    const auto& matrix = find(ck.tensors, "shared.matrix");
    EXPECT_EQ(flat.storage.get(), matrix.storage.get());
    EXPECT_EQ(matrix.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_TRUE(matrix.strides.empty()); // contiguous

    const auto& counter = find(ck.tensors, "bn.num_batches_tracked");
    EXPECT_EQ(counter.dtype, TensorDType::int64);
    EXPECT_TRUE(counter.shape.empty());
    EXPECT_EQ(counter.numel(), 1);
    EXPECT_EQ(values_of(counter), (std::vector<double>{5}));

    EXPECT_EQ(find(ck.tensors, "param").to_float("param"), (std::vector<float>{1, 2})); // an nn.Parameter
    EXPECT_EQ(ck.skipped, (std::vector<std::string>{"step (int)"}));
}

TEST(TorchCheckpoint, ReportsWrapperAndKeepsPrefixes) {
    EXPECT_EQ(scx::read_torch_checkpoint(fixture("wrapped_model_state_dict.pt")).wrapper_key, "model_state_dict");
    const auto wrapped = scx::read_torch_checkpoint(fixture("wrapped_state_dict.pt"));
    EXPECT_EQ(wrapped.wrapper_key, "state_dict");
    EXPECT_EQ(wrapped.skipped, (std::vector<std::string>{"step (int)"})); // 'epoch' is the wrapper's
    const auto prefixed = scx::read_torch_checkpoint(fixture("module_prefix.pt"));
    EXPECT_EQ(prefixed.wrapper_key, "");
    ASSERT_FALSE(prefixed.tensors.empty());
    for (const auto& [name, _] : prefixed.tensors) EXPECT_TRUE(name.starts_with("module.")) << name;
    EXPECT_EQ(prefixed.skipped, (std::vector<std::string>{"module.step (int)"}));
}

TEST(TorchCheckpoint, ArchiveFolderMayHaveAnyName) {
    EXPECT_EQ(scx::read_torch_checkpoint(fixture("weird.name.pt")).archive_folder, "weird.name");
    EXPECT_EQ(scx::read_torch_checkpoint(fixture("renamed_folder.pt")).archive_folder, "my folder-2");
}

// ------------------------------------------------------------- malicious files

TEST(TorchCheckpoint, RefusesCodeExecutingGlobalsWithoutRunningThem) {
    const auto& evil = expected().at("evil");
    ASSERT_EQ(evil.size(), 5u);
    for (const auto& e : evil) {
        const auto file = fixture(e.at("file").get<std::string>());
        const auto marker = e.at("marker").get<std::string>();
        const auto global = e.at("global").get<std::string>();
        SCOPED_TRACE(file);
        fs::remove(marker);
        ASSERT_FALSE(fs::exists(marker));
        const auto msg = error_of([&] { (void)scx::read_torch_checkpoint(file); });
        EXPECT_NE(msg.find(file + ": refusing pickle global '" + global + "'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("checkpoints may only contain tensors"), std::string::npos) << msg;
        EXPECT_FALSE(fs::exists(marker)) << "the payload ran: " << marker;
    }
}

// ------------------------------------------------------------- damaged and foreign files

void expect_error(const std::string& file, const std::vector<std::string>& parts) {
    const auto path = fixture(file);
    const auto msg = error_of([&] { (void)scx::read_torch_checkpoint(path); });
    ASSERT_FALSE(msg.empty()) << file << " was accepted";
    EXPECT_TRUE(msg.starts_with(path + ": ")) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

TEST(TorchCheckpoint, RefusesDamagedAndForeignFiles) {
    expect_error("empty.pt", {"empty file"});
    expect_error("random.pt", {"not a PyTorch checkpoint", "zip"});
    expect_error("truncated.pt", {"not a readable zip archive", "truncated"});
    expect_error("no_data_pkl.pt", {"data.pkl"});
    expect_error("legacy.pt", {"legacy", "torch.save(torch.load(f), g)"});
    expect_error("big_endian.pt", {"big-endian"});
    expect_error("missing_storage.pt", {"storage '1'", "missing", "plain/data/1"});
    expect_error("short_storage.pt", {"plain/data/0", "44 bytes", "48"});

    scx::test::TempDir dir;
    EXPECT_NE(error_of([&] { (void)scx::read_torch_checkpoint((dir / "absent.pt").string()); }).find("cannot open"),
              std::string::npos);
    EXPECT_NE(error_of([&] { (void)scx::read_torch_checkpoint(dir.path().string()); }).find("directory"),
              std::string::npos);
    const auto bare = scx::test::write_text_file(dir / "bare.pkl", std::string("\x80\x02}q\x00.", 6));
    EXPECT_NE(error_of([&] { (void)scx::read_torch_checkpoint(bare.string()); }).find("bare Python pickle"),
              std::string::npos);
}

TEST(TorchCheckpoint, RefusesAStorageWhoseBitsFlippedAfterSaving) {
    // issue 23, item 2: the zip CRC-32 was never checked, so flipped storage bits loaded.
    // One bit of plain.pt's first storage flipped in place (torch.save stores entries
    // uncompressed, so the data follows its local header).
    std::ifstream in(fixture("plain.pt"), std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::string name = "plain/data/0";
    const auto at = bytes.find(name);
    ASSERT_NE(at, std::string::npos);
    const auto header = at - 30;
    ASSERT_EQ(bytes.compare(header, 4, "PK\x03\x04"), 0);
    const auto u16 = [&](std::size_t i) {
        return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])) |
               static_cast<std::size_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    };
    ASSERT_EQ(u16(header + 8), 0U) << "expected a stored entry";
    const auto data = header + 30 + u16(header + 26) + u16(header + 28);
    bytes[data + 1] = static_cast<char>(bytes[data + 1] ^ 0x10);
    scx::test::TempDir dir;
    const auto flipped = scx::test::write_text_file(dir / "flipped.pt", bytes);
    const auto msg = error_of([&] { (void)scx::read_torch_checkpoint(flipped.string()); });
    EXPECT_NE(msg.find("flipped.pt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("plain/data/0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("CRC-32"), std::string::npos) << msg;
}

// ------------------------------------------------------------- hand-written pickles

// Builds pickle bytes opcode by opcode.
struct Pickle {
    std::string bytes = "\x80\x02";
    Pickle& op(char c) {
        bytes += c;
        return *this;
    }
    Pickle& raw(const std::string& s) {
        bytes += s;
        return *this;
    }
    Pickle& str(const std::string& s) { // SHORT_BINUNICODE
        bytes += '\x8c';
        bytes += static_cast<char>(s.size());
        bytes += s;
        return *this;
    }
    Pickle& int1(int v) { // BININT1
        bytes += 'K';
        bytes += static_cast<char>(v);
        return *this;
    }
    Pickle& int4(std::int32_t v) { // BININT
        bytes += 'J';
        for (int i = 0; i < 4; ++i) bytes += static_cast<char>((static_cast<std::uint32_t>(v) >> (8 * i)) & 0xff);
        return *this;
    }
    Pickle& long8(std::int64_t v) { // LONG1 of 8 bytes (non-negative values)
        bytes += '\x8a';
        bytes += '\x08';
        for (int i = 0; i < 8; ++i) bytes += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
        return *this;
    }
    Pickle& global(const std::string& module, const std::string& name) {
        bytes += 'c' + module + '\n' + name + '\n';
        return *this;
    }
    Pickle& tuple_of_ints(const std::vector<int>& v) {
        op('(');
        for (int x : v) int1(x);
        return op('t');
    }
    // _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, {})
    Pickle& tensor(const std::string& type, const std::string& key, int numel, int offset, const std::vector<int>& size,
                   const std::vector<int>& stride) {
        global("torch._utils", "_rebuild_tensor_v2");
        op('(');
        op('(').str("storage").global("torch", type).str(key).str("cpu").int1(numel).op('t').op('Q');
        int1(offset).tuple_of_ints(size).tuple_of_ints(stride).op('\x89').op('}');
        return op('t').op('R');
    }
    [[nodiscard]] std::span<const std::byte> span() const {
        return {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()};
    }
};

// Storages from a map of key -> bytes; counts the loads.
struct Storages {
    std::map<std::string, std::vector<std::byte>> data;
    int loads = 0;
    scx::TorchStorageLoader loader() {
        return [this](const std::string& key, std::uint64_t nbytes) {
            ++loads;
            auto it = data.find(key);
            if (it == data.end()) throw scx::Error("storage '" + key + "' is missing");
            EXPECT_EQ(it->second.size(), nbytes);
            return std::make_shared<const std::vector<std::byte>>(it->second);
        };
    }
    void add_floats(const std::string& key, const std::vector<float>& v) {
        std::vector<std::byte> b(v.size() * 4);
        std::memcpy(b.data(), v.data(), b.size());
        data[key] = std::move(b);
    }
};

std::string parse_error(const Pickle& p, Storages& s) {
    return error_of([&] { (void)scx::parse_torch_pickle(p.span(), s.loader(), "mem.pkl"); });
}

TEST(TorchPickle, ReadsAHandWrittenStateDict) {
    Storages s;
    s.add_floats("k", {0, 1, 2, 3, 4, 5});
    Pickle p;
    p.op('}').op('(');
    p.str("a").tensor("FloatStorage", "k", 6, 0, {2, 3}, {3, 1});
    p.str("b").tensor("FloatStorage", "k", 6, 1, {2}, {2}); // elements 1 and 3
    p.str("c").tensor("float32", "k", 6, 5, {}, {});         // a torch dtype as the storage type; 0-d
    p.str("n").int1(4);
    p.op('u').op('.');
    const auto ck = scx::parse_torch_pickle(p.span(), s.loader(), "mem.pkl");
    ASSERT_EQ(ck.tensors.size(), 3u);
    EXPECT_EQ(s.loads, 1); // one storage loaded once
    EXPECT_EQ(ck.tensors[0].second.storage.get(), ck.tensors[1].second.storage.get());
    EXPECT_EQ(ck.tensors[1].second.to_float("b"), (std::vector<float>{1, 3}));
    EXPECT_EQ(ck.tensors[1].second.strides, (std::vector<std::int64_t>{2}));
    EXPECT_EQ(ck.tensors[2].second.to_float("c"), (std::vector<float>{5}));
    EXPECT_EQ(ck.skipped, (std::vector<std::string>{"n (int)"}));
    EXPECT_EQ(ck.archive_folder, "");
}

TEST(TorchPickle, AcceptsGpuStoragesAndTorch2Metadata) {
    Storages s;
    s.add_floats("0", {7, 8});
    Pickle p;
    p.op('}').str("w");
    // torch.cuda.FloatStorage (GPU saves before torch 1.13) and a 7th metadata argument (torch 2)
    p.global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.op('(').str("storage").global("torch.cuda", "FloatStorage").str("0").str("cuda:0").int1(2).op('t').op('Q');
    p.int1(0).tuple_of_ints({2}).tuple_of_ints({1}).op('\x89').op('}').op('}').op('t').op('R');
    p.op('s').op('.');
    const auto ck = scx::parse_torch_pickle(p.span(), s.loader(), "mem.pkl");
    ASSERT_EQ(ck.tensors.size(), 1u);
    EXPECT_EQ(ck.tensors[0].second.to_float("w"), (std::vector<float>{7, 8}));
}

TEST(TorchPickle, RefusesViewsOutsideTheirStorage) {
    Storages s;
    s.add_floats("k", {0, 1, 2, 3});
    Pickle p;
    p.op('}').str("a").tensor("FloatStorage", "k", 4, 2, {2, 2}, {2, 1}).op('s').op('.');
    const auto msg = parse_error(p, s);
    EXPECT_NE(msg.find("mem.pkl: tensor on storage 'k' reaches element 5 of a storage of 4 elements"), std::string::npos)
        << msg;
}

TEST(TorchPickle, NamesAMissingStorage) {
    Storages s;
    Pickle p;
    p.op('}').str("a").tensor("FloatStorage", "nope", 1, 0, {1}, {1}).op('s').op('.');
    EXPECT_NE(parse_error(p, s).find("storage 'nope' is missing"), std::string::npos);
}

TEST(TorchPickle, RefusesGlobalsOutsideTheAllowList) {
    Storages s;
    for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
             {"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "getattr"},
             {"torch", "load"}, {"torch._utils", "_rebuild_qtensor"}, {"collections", "defaultdict"},
             {"numpy.core.multiarray", "_reconstruct"}, {"__main__", "ScGptModel"}}) {
        Pickle p;
        p.global(module, name).op('.');
        EXPECT_EQ(parse_error(p, s), "mem.pkl: refusing pickle global '" + module + "." + name +
                                         "': checkpoints may only contain tensors");
        // the same through STACK_GLOBAL (protocol 4)
        Pickle q;
        q.str(module).str(name).op('\x93').op('.');
        EXPECT_NE(parse_error(q, s).find("'" + module + "." + name + "'"), std::string::npos);
    }
    Pickle complex;
    complex.global("torch", "ComplexFloatStorage").op('.');
    EXPECT_NE(parse_error(complex, s).find("unsupported tensor storage type 'torch.ComplexFloatStorage'"),
              std::string::npos);
}

TEST(TorchPickle, RefusesCallsAndStateOutsideThePolicy) {
    Storages s;
    Pickle call_storage; // a storage class is not callable
    call_storage.global("torch", "FloatStorage").op(')').op('R').op('.');
    EXPECT_NE(parse_error(call_storage, s).find("refusing to call 'torch.FloatStorage'"), std::string::npos);

    Pickle ordered_args; // OrderedDict(x) is refused: only OrderedDict() is needed
    ordered_args.global("collections", "OrderedDict").op('(').op('}').op('t').op('R').op('.');
    EXPECT_NE(parse_error(ordered_args, s).find("OrderedDict called with 1 arguments"), std::string::npos);

    Pickle build_list; // BUILD on a list
    build_list.op(']').op('}').op('b').op('.');
    EXPECT_NE(parse_error(build_list, s).find("refusing to set the state of a pickled 'list'"), std::string::npos);

    Pickle build_dict; // BUILD on a dict with more than _metadata
    build_dict.op('}').op('}').str("__class__").int1(1).op('s').op('b').op('.');
    EXPECT_NE(parse_error(build_dict, s).find("refusing to set the state of a pickled 'dict'"), std::string::npos);

    Pickle metadata; // BUILD on a dict setting only _metadata: accepted, ignored
    metadata.op('}').op('}').str("_metadata").op('}').op('s').op('b').op('.');
    EXPECT_NE(parse_error(metadata, s).find("no tensors found"), std::string::npos);

    Pickle bad_pid;
    bad_pid.str("module").op('Q').op('.');
    EXPECT_NE(parse_error(bad_pid, s).find("unexpected persistent id"), std::string::npos);

    Pickle newobj;
    newobj.op(')').op(')').op('\x81').op('.');
    EXPECT_NE(parse_error(newobj, s).find("pickle opcode NEWOBJ (0x81) at offset 4 is not supported"),
              std::string::npos);
}

TEST(TorchPickle, ReportsMalformedPickles) {
    Storages s;
    Pickle unknown;
    unknown.op('}').op('\xff');
    EXPECT_EQ(parse_error(unknown, s), "mem.pkl: unknown pickle opcode 0xff at offset 3");

    Pickle no_stop;
    no_stop.op('}');
    EXPECT_NE(parse_error(no_stop, s).find("pickle ends early at offset 3 (no STOP opcode)"), std::string::npos);

    Pickle cut; // BINUNICODE announcing 100 bytes, holding 2
    cut.op('}').raw(std::string("X\x64\x00\x00\x00" "ab", 7));
    const auto msg = parse_error(cut, s);
    EXPECT_NE(msg.find("pickle ends early"), std::string::npos) << msg;
    EXPECT_NE(msg.find("BINUNICODE at offset 3"), std::string::npos) << msg;

    Pickle underflow;
    underflow.op('s').op('.');
    EXPECT_NE(parse_error(underflow, s).find("stack underflow (SETITEM at offset 2)"), std::string::npos);

    Pickle bad_memo;
    bad_memo.op('h').op('\x07').op('.');
    EXPECT_NE(parse_error(bad_memo, s).find("memo entry 7 was never stored"), std::string::npos);

    Pickle future;
    future.bytes = std::string("\x80\x06}.", 4);
    EXPECT_NE(parse_error(future, s).find("pickle protocol 6 is newer than 5"), std::string::npos);

    Pickle text;
    text.raw("I1\n.");
    EXPECT_NE(parse_error(text, s).find("INT (0x49) at offset 2 is not supported"), std::string::npos);

    Pickle list_root;
    list_root.op(']').op('.');
    EXPECT_NE(parse_error(list_root, s).find("holds a pickled 'list', not a state dict"), std::string::npos);
}

TEST(TorchPickle, ScalarOpcodesDecodeLikePython) {
    // {'a': -2 (LONG1), 'b': 1.5 (BINFLOAT), 'c': -70000 (BININT), 'd': 513 (BININT2), 'e': None, 'a': True}
    Pickle p;
    p.op('}').op('(');
    p.str("a").raw(std::string("\x8a\x01\xfe", 3));
    p.str("b").raw(std::string("G\x3f\xf8\x00\x00\x00\x00\x00\x00", 9));
    p.str("c").raw(std::string("J\x90\xee\xfe\xff", 5));
    p.str("d").raw(std::string("M\x01\x02", 3));
    p.str("e").op('N');
    p.str("a").op('\x88'); // the same key again replaces the value in place, as in Python
    p.op('u').op('.');
    struct Plain : scx::pickle::Resolver {};
    Plain plain;
    const auto u = scx::pickle::unpickle(p.span(), plain, "mem.pkl");
    ASSERT_EQ(u.root->kind, scx::pickle::Value::Kind::dict);
    ASSERT_EQ(u.root->entries.size(), 5u);
    EXPECT_EQ(u.protocol, 2);
    EXPECT_EQ(u.root->get("a")->kind, scx::pickle::Value::Kind::boolean);
    EXPECT_EQ(u.root->entries[0].first->text, "a"); // kept its first position
    EXPECT_EQ(u.root->get("b")->floating, 1.5);
    EXPECT_EQ(u.root->get("c")->integer, -70000);
    EXPECT_EQ(u.root->get("d")->integer, 513);
    EXPECT_EQ(u.root->get("e")->kind, scx::pickle::Value::Kind::none);

    Pickle big; // LONG1 of 8 bytes: INT64_MIN; of 9 bytes: refused
    big.raw(std::string("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80.", 11));
    EXPECT_EQ(scx::pickle::unpickle(big.span(), plain, "m").root->integer, INT64_MIN);
    Pickle huge;
    huge.raw(std::string("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", 12));
    EXPECT_NE(error_of([&] { (void)scx::pickle::unpickle(huge.span(), plain, "m"); }).find("does not fit in 64 bits"),
              std::string::npos);
}

TEST(TorchPickle, DefaultResolverRefusesEverything) {
    scx::pickle::Resolver none;
    Pickle g;
    g.global("collections", "OrderedDict").op('.');
    EXPECT_EQ(error_of([&] { (void)scx::pickle::unpickle(g.span(), none, "m"); }),
              "m: refusing pickle global 'collections.OrderedDict'");
    Pickle pid;
    pid.op('N').op('Q').op('.');
    EXPECT_NE(error_of([&] { (void)scx::pickle::unpickle(pid.span(), none, "m"); }).find("persistent id"),
              std::string::npos);
}

TEST(TorchPickle, SurvivesDeepNestingAndCycles) {
    // 300,000 nested lists and tuples: freeing them recursively would overflow the stack
    const int depth = 300'000;
    Pickle deep; // outermost list created first
    deep.bytes.append(depth, ']');
    deep.bytes.append(depth - 1, 'a');
    deep.op('.');
    Pickle wrapped; // innermost tuple created first, each TUPLE1 wraps the last
    wrapped.op(')');
    wrapped.bytes.append(depth, '\x85');
    wrapped.op('.');
    scx::pickle::Resolver plain;
    for (const auto* p : {&deep, &wrapped}) {
        const auto u = scx::pickle::unpickle(p->span(), plain, "m");
        ASSERT_TRUE(u.root->is_container());
        EXPECT_EQ(u.root->items.size(), 1u);
    }
    // l = []; l.append(l): released without leaking (checked by the sanitizer build)
    Pickle cycle;
    cycle.op(']').op('q').op('\x00').op('h').op('\x00').op('a').op('.');
    {
        const auto u = scx::pickle::unpickle(cycle.span(), plain, "m");
        ASSERT_EQ(u.root->items.size(), 1u);
        EXPECT_EQ(u.root->items[0].get(), u.root.get());
    }
    // the same through the torch loader, which refuses the non-dict root
    Storages s;
    EXPECT_NE(parse_error(deep, s).find("holds a pickled 'list'"), std::string::npos);
}

// ------------------------------------------------------------- hostile archives and views

TEST(TorchPickle, RefusesViewsWithMoreElementsThanTheirStorage) {
    // torch.ones(1).expand(100000, 100000): zero strides on one float, 40 GB once materialised
    Storages s;
    s.add_floats("k", {1});
    Pickle p;
    p.op('}').str("w");
    p.global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.op('(').str("storage").global("torch", "FloatStorage").str("k").str("cpu").int1(1).op('t').op('Q');
    p.int1(0).op('(').int4(100000).int4(100000).op('t').op('(').int1(0).int1(0).op('t').op('\x89').op('}').op('t').op('R');
    p.op('s').op('.');
    const auto msg = parse_error(p, s);
    EXPECT_NE(msg.find("mem.pkl: tensor on storage 'k' has 10000000000 elements, more than the 1 of its storage"),
              std::string::npos)
        << msg;
}

// A torch.save-like archive: {"w": tensor of 4 floats} with stored (uncompressed) entries.
std::string state_dict_pickle() {
    Pickle p;
    p.op('}').str("w").tensor("FloatStorage", "0", 4, 0, {4}, {1}).op('s').op('.');
    return p.bytes;
}

void write_zip(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& entries, bool deflate) {
    int err = 0;
    zip_t* z = zip_open(path.string().c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    ASSERT_NE(z, nullptr);
    for (const auto& [name, data] : entries) {
        zip_source_t* src = zip_source_buffer(z, data.data(), data.size(), 0);
        ASSERT_NE(src, nullptr);
        const auto i = zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8);
        ASSERT_GE(i, 0);
        zip_set_file_compression(z, static_cast<zip_uint64_t>(i), deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    ASSERT_EQ(zip_close(z), 0);
}

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& b) {
    std::ofstream out(p, std::ios::binary);
    out << b;
}

// Sets the uncompressed size of entry @p name in both its local and its central header.
void patch_declared_size(std::string& zip, const std::string& name, std::uint32_t size) {
    const auto put = [&](std::size_t at) {
        for (int i = 0; i < 4; ++i) zip[at + static_cast<std::size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
    };
    int patched = 0;
    for (std::size_t at = 0; (at = zip.find(name, at)) != std::string::npos; ++at) {
        if (at >= 30 && zip.compare(at - 30, 4, "PK\x03\x04") == 0) put(at - 30 + 22), ++patched;
        if (at >= 46 && zip.compare(at - 46, 4, "PK\x01\x02") == 0) put(at - 46 + 24), ++patched;
    }
    ASSERT_EQ(patched, 2);
}

TEST(TorchCheckpoint, VerifiesTheCrcOfEveryEntry) {
    scx::test::TempDir dir;
    const std::string floats("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40", 16); // 1 2 3 4
    const auto good = dir / "good.pt";
    write_zip(good, {{"archive/data.pkl", state_dict_pickle()}, {"archive/data/0", floats}}, false);
    ASSERT_EQ(scx::read_torch_checkpoint(good.string()).tensors.size(), 1u);
    // one flipped bit in the stored storage bytes: same sizes, wrong CRC
    auto bytes = read_bytes(good);
    const auto at = bytes.find(floats);
    ASSERT_NE(at, std::string::npos);
    bytes[at + 5] = static_cast<char>(bytes[at + 5] ^ 0x01);
    const auto flipped = dir / "flipped.pt";
    write_bytes(flipped, bytes);
    const auto msg = error_of([&] { (void)scx::read_torch_checkpoint(flipped.string()); });
    EXPECT_NE(msg.find(flipped.string() + ": 'archive/data/0'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("CRC"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(TorchCheckpoint, RefusesDeclaredSizesTheArchiveCannotHold) {
    scx::test::TempDir dir;
    // the pickle asks for 1,073,741,820 floats (4 GiB), the entries declare as much
    Pickle p;
    p.op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int4(1073741820).op('t').op('Q');
    p.int1(0).op('(').int4(1073741820).op('t').op('(').int1(1).op('t').op('\x89').op('}').op('t').op('R');
    p.op('s').op('.');
    for (const bool deflate : {false, true}) {
        SCOPED_TRACE(deflate ? "deflated" : "stored");
        const auto path = dir / "huge.pt";
        write_zip(path, {{"archive/data.pkl", p.bytes}, {"archive/data/0", std::string(4096, '\0')}}, deflate);
        auto bytes = read_bytes(path);
        patch_declared_size(bytes, "archive/data/0", 4294967280u);
        write_bytes(path, bytes);
        const auto start = std::chrono::steady_clock::now();
        const auto msg = error_of([&] { (void)scx::read_torch_checkpoint(path.string()); });
        EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
        EXPECT_NE(msg.find(path.string() + ": "), std::string::npos) << msg;
        EXPECT_NE(msg.find(deflate ? "more than deflate can expand" : "declares 4294967280 bytes but holds 4096"),
                  std::string::npos)
            << msg;
    }
}

/// @p v as @p width little-endian bytes.
std::string le_bytes(std::uint64_t v, int width) {
    std::string b(static_cast<std::size_t>(width), '\0');
    for (int i = 0; i < width; ++i) b[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    return b;
}

/// A zip written byte by byte: "archive/data.pkl" stored, then "archive/data/0", deflated, whose
/// headers declare @p declared bytes through zip64 extra fields (as torch.save writes storages
/// over 4 GiB) over @p compressed bytes that are never inflated.
std::string zip64_archive(const std::string& pickle, std::uint64_t declared, const std::string& compressed) {
    struct Entry {
        std::string name, data;
        std::uint16_t method;
        std::uint64_t size;
        std::uint32_t crc;
        std::uint64_t offset = 0;
    };
    std::vector<Entry> entries{
        {"archive/data.pkl", pickle, 0, pickle.size(),
         static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(pickle.data()), static_cast<uInt>(pickle.size())))},
        {"archive/data/0", compressed, 8, declared, 0}};
    std::string zip, central;
    for (auto& e : entries) {
        const bool big = e.size > 0xffffffffu;
        const std::string extra = big ? le_bytes(1, 2) + le_bytes(16, 2) + le_bytes(e.size, 8) + le_bytes(e.data.size(), 8) : "";
        const auto sizes = big ? le_bytes(0xffffffffu, 4) + le_bytes(0xffffffffu, 4) : le_bytes(e.data.size(), 4) + le_bytes(e.size, 4);
        e.offset = zip.size();
        // local header: signature, version needed (4.5: zip64), flags, method, time, date, CRC, sizes, name and extra lengths
        zip += "PK\x03\x04" + le_bytes(45, 2) + le_bytes(0, 2) + le_bytes(e.method, 2) + le_bytes(0, 4) + le_bytes(e.crc, 4) +
               sizes + le_bytes(e.name.size(), 2) + le_bytes(extra.size(), 2) + e.name + extra + e.data;
        // central header: also version made by, comment length, disk, attributes, local header offset
        central += "PK\x01\x02" + le_bytes(45, 2) + le_bytes(45, 2) + le_bytes(0, 2) + le_bytes(e.method, 2) + le_bytes(0, 4) +
                   le_bytes(e.crc, 4) + sizes + le_bytes(e.name.size(), 2) + le_bytes(extra.size(), 2) + le_bytes(0, 2) +
                   le_bytes(0, 2) + le_bytes(0, 2) + le_bytes(0, 4) + le_bytes(e.offset, 4) + e.name + extra;
    }
    const auto at = zip.size();
    zip += central;
    zip += "PK\x05\x06" + le_bytes(0, 4) + le_bytes(entries.size(), 2) + le_bytes(entries.size(), 2) + le_bytes(central.size(), 4) +
           le_bytes(at, 4) + le_bytes(0, 2);
    return zip;
}

// A storage declared larger than this machine's memory (issue 23: zip entries declaring 8 GiB
// were allocated up front). A stored entry of that size cannot be faked without the bytes, and
// a deflated one must hold at least 1/1032 of them, so the archive holds a thousandth of what
// it declares in zip64 headers: the read is refused by its size before anything is allocated.
TEST(TorchCheckpoint, RefusesAStorageLargerThanThisMachinesMemory) {
    const std::uint64_t memory = scx::physical_memory_bytes();
    if (memory == 0) GTEST_SKIP() << "this machine's memory cannot be told";
    const std::uint64_t declared = std::max<std::uint64_t>(memory + (std::uint64_t{1} << 30), std::uint64_t{5} << 30);
    const std::uint64_t compressed = declared / 1000 + 1;
    if (compressed > (std::uint64_t{256} << 20))
        GTEST_SKIP() << "a machine of " << memory / 1e9 << " GB would need a " << compressed / 1e6 << " MB archive for this test";
    Pickle p;
    p.op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.op('(').str("storage").global("torch", "ByteStorage").str("0").str("cpu").long8(static_cast<std::int64_t>(declared)).op('t').op('Q');
    p.int1(0).op('(').long8(static_cast<std::int64_t>(declared)).op('t').op('(').int1(1).op('t').op('\x89').op('}').op('t').op('R');
    p.op('s').op('.');
    scx::test::TempDir dir;
    const auto path = dir / "larger_than_memory.pt";
    write_bytes(path, zip64_archive(p.bytes, declared, std::string(static_cast<std::size_t>(compressed), '\x5a')));
    const auto start = std::chrono::steady_clock::now();
    const auto msg = error_of([&] { (void)scx::read_torch_checkpoint(path.string()); });
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
    EXPECT_EQ(msg.rfind(path.string() + ": 'archive/data/0' would need ", 0), 0U) << msg;
    EXPECT_NE(msg.find(" GB, more than this machine's "), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

} // namespace
