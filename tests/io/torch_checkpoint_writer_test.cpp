// write_torch_checkpoint(): every dtype, views and shared storages round-trip bit-exactly
// through read_torch_checkpoint(); the zip layout is torch.save's (record order, stored,
// 64-byte aligned); refusals leave no file. tests/interop/test_make_model.py checks the same
// files against the real torch.load and torch.save.

#include "scextract/io/torch_checkpoint.hpp"
#include "scextract/io/torch_checkpoint_writer.hpp"
#include "scextract/io/safetensors.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using scx::Tensor;
using scx::TensorDType;
using scx::TensorMap;
using scx::test::error_of;
namespace fs = std::filesystem;

std::string fixture(const std::string& name) { return std::string(SCX_SOURCE_DIR) + "/tests/fixtures/torch/" + name; }

/// A contiguous tensor whose bytes are a fixed pseudo-random pattern (every bit pattern is
/// fine for a bit-exact round trip; bool gets 0/1).
Tensor patterned(TensorDType dtype, std::vector<std::int64_t> shape, unsigned salt) {
    Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    const auto n = static_cast<std::size_t>(t.numel()) * scx::tensor_dtype_size(dtype);
    auto bytes = std::make_shared<std::vector<std::byte>>(n);
    std::uint32_t x = 2166136261u ^ salt;
    for (auto& b : *bytes) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::byte>(x >> 24);
    }
    if (dtype == TensorDType::bool_)
        for (auto& b : *bytes) b = static_cast<std::byte>(static_cast<unsigned>(b) & 1u);
    t.storage = std::move(bytes);
    return t;
}

TensorMap every_dtype() {
    TensorMap m;
    unsigned salt = 0;
    for (const auto dt : {TensorDType::float32, TensorDType::float16, TensorDType::bfloat16, TensorDType::float64,
                          TensorDType::int64, TensorDType::int32, TensorDType::int16, TensorDType::int8,
                          TensorDType::uint8, TensorDType::bool_})
        m.emplace_back(std::string("layer.") + scx::tensor_dtype_name(dt), patterned(dt, {3, 5}, ++salt));
    m.emplace_back("scalar.count", patterned(TensorDType::int64, {}, ++salt)); // 0-d, like num_batches_tracked
    m.emplace_back("empty.weight", patterned(TensorDType::float32, {0, 4}, ++salt));
    m.emplace_back("deep.a.b.c.weight", patterned(TensorDType::float32, {2, 1, 3, 2}, ++salt)); // > 3 dims: MARK..TUPLE
    return m;
}

void expect_same_tensors(const TensorMap& got, const TensorMap& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE(want[i].first);
        EXPECT_EQ(got[i].first, want[i].first);
        EXPECT_EQ(got[i].second.dtype, want[i].second.dtype);
        EXPECT_EQ(got[i].second.shape, want[i].second.shape);
        EXPECT_EQ(scx::tensor_contiguous_bytes(got[i].second, "got"), scx::tensor_contiguous_bytes(want[i].second, "want"));
    }
}

struct ZipRecord {
    std::string name;
    std::uint64_t data_offset = 0, size = 0;
    std::uint16_t method = 0, flags = 0;
    std::string data;
};

/// Walks the local headers from the start of the file (what a streaming zip reader sees).
std::vector<ZipRecord> local_records(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto u16 = [&](std::size_t o) {
        return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[o]) | static_cast<unsigned char>(bytes[o + 1]) << 8);
    };
    auto u32 = [&](std::size_t o) { return static_cast<std::uint32_t>(u16(o) | static_cast<std::uint32_t>(u16(o + 2)) << 16); };
    std::vector<ZipRecord> out;
    std::size_t o = 0;
    while (o + 30 <= bytes.size() && u32(o) == 0x04034b50u) {
        ZipRecord r;
        r.flags = u16(o + 6);
        r.method = u16(o + 8);
        r.size = u32(o + 18);
        const auto n = u16(o + 26), e = u16(o + 28);
        r.name = bytes.substr(o + 30, n);
        r.data_offset = o + 30 + n + e;
        r.data = bytes.substr(r.data_offset, r.size);
        out.push_back(r);
        o = r.data_offset + r.size;
    }
    return out;
}

TEST(TorchCheckpointWriter, EveryDtypeRoundTripsBitExactly) {
    scx::test::TempDir dir;
    const auto path = (dir / "best_model.pt").string();
    const auto tensors = every_dtype();
    scx::write_torch_checkpoint(tensors, path);
    const auto ck = scx::read_torch_checkpoint(path);
    expect_same_tensors(ck.tensors, tensors);
    EXPECT_TRUE(ck.skipped.empty());
    EXPECT_EQ(ck.wrapper_key, "");
    EXPECT_EQ(ck.archive_folder, "best_model"); // named after the file's stem, as torch.save does
    EXPECT_EQ(ck.format_version, 3);
    for (const auto& [name, t] : ck.tensors) EXPECT_TRUE(t.strides.empty()) << name;
}

TEST(TorchCheckpointWriter, LayoutIsTorchSaves) {
    scx::test::TempDir dir;
    const auto path = dir / "weird.name.pt";
    TensorMap m;
    for (int i = 0; i < 12; ++i) // keys 0..11: records sorted as strings, 0 1 10 11 2 ...
        m.emplace_back("m" + std::to_string(i) + ".weight", patterned(TensorDType::float32, {i + 1}, static_cast<unsigned>(i)));
    scx::write_torch_checkpoint(m, path.string());
    const auto recs = local_records(path);
    std::vector<std::string> names;
    for (const auto& r : recs) names.push_back(r.name);
    const std::vector<std::string> want = {
        "weird.name/data.pkl", "weird.name/byteorder", "weird.name/data/0",  "weird.name/data/1",
        "weird.name/data/10",  "weird.name/data/11",   "weird.name/data/2",  "weird.name/data/3",
        "weird.name/data/4",   "weird.name/data/5",    "weird.name/data/6",  "weird.name/data/7",
        "weird.name/data/8",   "weird.name/data/9",    "weird.name/version"};
    EXPECT_EQ(names, want);
    for (const auto& r : recs) {
        SCOPED_TRACE(r.name);
        EXPECT_EQ(r.method, 0);               // stored
        EXPECT_EQ(r.flags & 0x8, 0);          // sizes in the local header, no data descriptor
        EXPECT_EQ(r.data_offset % 64, 0u);    // torch's alignment
    }
    EXPECT_EQ(recs[1].data, "little");
    EXPECT_EQ(recs.back().data, "3\n");
    // storage 10 is tensor 10's: 11 floats
    EXPECT_EQ(recs[4].size, 11u * 4u);
    // the pickle: protocol 2, an OrderedDict built with its _metadata, STOP
    const auto& pkl = recs[0].data;
    ASSERT_GE(pkl.size(), 4u);
    EXPECT_EQ(pkl.substr(0, 2), std::string("\x80\x02", 2));
    EXPECT_EQ(pkl.substr(pkl.size() - 2), "b.");
    EXPECT_NE(pkl.find("collections\nOrderedDict\n"), std::string::npos);
    EXPECT_NE(pkl.find("torch._utils\n_rebuild_tensor_v2\n"), std::string::npos);
    EXPECT_NE(pkl.find("_metadata"), std::string::npos);

    // the same bytes each time (fixed dates, no randomness)
    const auto again = dir / "again" / "weird.name.pt";
    fs::create_directories(again.parent_path());
    scx::write_torch_checkpoint(m, again.string());
    std::ifstream a(path, std::ios::binary), b(again, std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}), std::string(std::istreambuf_iterator<char>(b), {}));
}

TEST(TorchCheckpointWriter, WithoutMetadataAndWithArchiveName) {
    scx::test::TempDir dir;
    const auto path = dir / "x.pt";
    scx::TorchWriteOptions o;
    o.archive_name = "archive";
    o.module_metadata = false;
    scx::write_torch_checkpoint(every_dtype(), path.string(), o);
    const auto recs = local_records(path);
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(recs[0].name, "archive/data.pkl");
    EXPECT_EQ(recs[0].data.find("_metadata"), std::string::npos);
    EXPECT_EQ(recs[0].data.substr(recs[0].data.size() - 2), "u."); // SETITEMS, STOP: no BUILD
    expect_same_tensors(scx::read_torch_checkpoint(path.string()).tensors, every_dtype());
}

TEST(TorchCheckpointWriter, ViewsAndSharedStoragesAreKept) {
    // base storage of 12 floats: a [3, 4] matrix, its transpose, a row view with an offset
    auto base = patterned(TensorDType::float32, {3, 4}, 99);
    Tensor transposed = base;
    transposed.shape = {4, 3};
    transposed.strides = {1, 4};
    Tensor row = base;
    row.shape = {4};
    row.strides = {1};
    row.storage_offset = 8;
    TensorMap m = {{"a.matrix", base}, {"a.transposed", transposed}, {"b.row", row},
                   {"c.other", patterned(TensorDType::float16, {2}, 5)}};
    scx::test::TempDir dir;
    const auto path = (dir / "views.pt").string();
    scx::write_torch_checkpoint(m, path);
    const auto ck = scx::read_torch_checkpoint(path);
    expect_same_tensors(ck.tensors, m);
    ASSERT_EQ(ck.tensors.size(), 4u);
    EXPECT_EQ(ck.tensors[0].second.storage, ck.tensors[1].second.storage); // one storage, as torch.save writes it
    EXPECT_EQ(ck.tensors[0].second.storage, ck.tensors[2].second.storage);
    EXPECT_NE(ck.tensors[0].second.storage, ck.tensors[3].second.storage);
    EXPECT_EQ(ck.tensors[1].second.strides, (std::vector<std::int64_t>{1, 4}));
    EXPECT_EQ(ck.tensors[2].second.storage_offset, 8);
    EXPECT_EQ(local_records(path).size(), 2u + 2u + 1u); // data.pkl, byteorder, 2 storages, version

    // contiguous: each tensor its own dense storage
    scx::TorchWriteOptions o;
    o.contiguous = true;
    const auto path2 = (dir / "dense.pt").string();
    scx::write_torch_checkpoint(m, path2, o);
    const auto ck2 = scx::read_torch_checkpoint(path2);
    expect_same_tensors(ck2.tensors, m);
    for (const auto& [name, t] : ck2.tensors) {
        EXPECT_TRUE(t.strides.empty()) << name;
        EXPECT_EQ(t.storage_offset, 0) << name;
        EXPECT_EQ(t.storage->size(), static_cast<std::size_t>(t.numel()) * scx::tensor_dtype_size(t.dtype)) << name;
    }
}

TEST(TorchCheckpointWriter, StorageSharedAcrossDtypesIsMaterialised) {
    // a safetensors-style buffer: an f32 and an f16 tensor in one byte storage
    auto bytes = std::make_shared<std::vector<std::byte>>(16);
    for (std::size_t i = 0; i < bytes->size(); ++i) (*bytes)[i] = static_cast<std::byte>(i * 7 + 1);
    Tensor f;
    f.dtype = TensorDType::float32;
    f.shape = {2};
    f.storage = bytes;
    Tensor h;
    h.dtype = TensorDType::float16;
    h.shape = {4};
    h.storage_offset = 4; // bytes 8..15
    h.storage = bytes;
    TensorMap m = {{"f", f}, {"h", h}};
    scx::test::TempDir dir;
    const auto path = (dir / "mixed.pt").string();
    scx::write_torch_checkpoint(m, path);
    const auto ck = scx::read_torch_checkpoint(path);
    expect_same_tensors(ck.tensors, m);
    EXPECT_NE(ck.tensors[0].second.storage, ck.tensors[1].second.storage);
}

TEST(TorchCheckpointWriter, TorchFixtureRoundTrips) {
    // what torch 1.13 wrote (views, shared storage, every dtype) survives read -> write -> read
    const auto original = scx::read_torch_checkpoint(fixture("plain.pt"));
    scx::test::TempDir dir;
    const auto path = (dir / "plain.pt").string();
    scx::write_torch_checkpoint(original.tensors, path);
    const auto again = scx::read_torch_checkpoint(path);
    expect_same_tensors(again.tensors, original.tensors);
    for (std::size_t i = 0; i < original.tensors.size(); ++i) {
        const auto& a = original.tensors[i].second;
        const auto& b = again.tensors[i].second;
        EXPECT_EQ(a.strides, b.strides) << original.tensors[i].first;
        EXPECT_EQ(a.storage_offset, b.storage_offset) << original.tensors[i].first;
        for (std::size_t j = 0; j < i; ++j) // sharing kept exactly
            EXPECT_EQ(a.storage == original.tensors[j].second.storage, b.storage == again.tensors[j].second.storage)
                << original.tensors[i].first << " / " << original.tensors[j].first;
    }
}

TEST(TorchCheckpointWriter, ManyTensorsUseLongMemoIndices) {
    // > 256 memo entries (LONG_BINPUT / LONG_BINGET) and > 1000 items (two SETITEMS batches)
    TensorMap m;
    for (int i = 0; i < 1100; ++i)
        m.emplace_back("blocks." + std::to_string(i) + ".w", patterned(TensorDType::float32, {1}, static_cast<unsigned>(i)));
    m.emplace_back("big.weight", patterned(TensorDType::uint8, {70000}, 3)); // numel needs BININT
    scx::test::TempDir dir;
    const auto path = (dir / "many.pt").string();
    scx::write_torch_checkpoint(m, path);
    expect_same_tensors(scx::read_torch_checkpoint(path).tensors, m);
}

TEST(TorchCheckpointWriter, RefusalsLeaveNoFile) {
    scx::test::TempDir dir;
    const auto path = (dir / "bad.pt").string();
    auto t = patterned(TensorDType::float32, {2}, 1);
    EXPECT_NE(error_of([&] { scx::write_torch_checkpoint({}, path); }).find("no tensors"), std::string::npos);
    EXPECT_NE(error_of([&] { scx::write_torch_checkpoint({{"a", t}, {"a", t}}, path); }).find("appears twice"),
              std::string::npos);
    EXPECT_NE(error_of([&] { scx::write_torch_checkpoint({{"", t}}, path); }).find("empty name"), std::string::npos);
    Tensor outside = t;
    outside.shape = {3};
    EXPECT_NE(error_of([&] { scx::write_torch_checkpoint({{"a", outside}}, path); }).find("storage"), std::string::npos);
    EXPECT_FALSE(fs::exists(path));
    EXPECT_NE(error_of([&] { scx::write_torch_checkpoint({{"a", t}}, (dir / "no" / "such" / "x.pt").string()); })
                  .find("does not exist"),
              std::string::npos);
    for (const auto& e : fs::directory_iterator(dir.path())) ADD_FAILURE() << "left behind: " << e.path();
}

TEST(TorchCheckpointWriter, OverwritesAtomically) {
    scx::test::TempDir dir;
    const auto path = (dir / "m.pt").string();
    scx::write_torch_checkpoint({{"a", patterned(TensorDType::float32, {2}, 1)}}, path);
    const TensorMap second = {{"b", patterned(TensorDType::int32, {3}, 2)}};
    scx::write_torch_checkpoint(second, path);
    expect_same_tensors(scx::read_torch_checkpoint(path).tensors, second);
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++n;
    EXPECT_EQ(n, 1u); // no temporary left
}

} // namespace
