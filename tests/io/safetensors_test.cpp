// safetensors reader and writer: round trips of every dtype, strided views, metadata,
// a file written by the reference library (tests/fixtures/make_safetensors_fixture.py),
// and every malformed header the reader must refuse, naming the file (and the tensor).

#include "scextract/io/safetensors.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

using scx::Tensor;
using scx::TensorDType;
using scx::TensorMap;
using scx::test::error_of;
using scx::test::TempDir;

/// A contiguous tensor holding @p values (raw element type T).
template <typename T>
Tensor make_tensor(TensorDType dtype, std::vector<std::int64_t> shape, const std::vector<T>& values) {
    Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    auto bytes = std::make_shared<std::vector<std::byte>>(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(bytes->data(), values.data(), bytes->size());
    t.storage = std::move(bytes);
    return t;
}

/// A contiguous tensor whose bytes are a fixed pattern (any dtype; bool gets 0/1).
Tensor pattern_tensor(TensorDType dtype, std::vector<std::int64_t> shape, int seed) {
    Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    const auto n = static_cast<std::size_t>(t.numel()) * scx::tensor_dtype_size(dtype);
    auto bytes = std::make_shared<std::vector<std::byte>>(n);
    for (std::size_t i = 0; i < n; ++i)
        (*bytes)[i] =
            static_cast<std::byte>(dtype == TensorDType::bool_ ? (i + seed) % 2 : (i * 37 + seed * 11 + 5) % 256);
    t.storage = std::move(bytes);
    return t;
}

std::vector<std::byte> bytes_of(const Tensor& t) {
    return scx::tensor_contiguous_bytes(t, "test");
}

const Tensor& find(const TensorMap& m, const std::string& name) {
    for (const auto& [n, t] : m)
        if (n == name) return t;
    throw std::runtime_error("no tensor " + name);
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A raw file: 8-byte little-endian @p declared_len (the header's size unless given), header, data.
fs::path write_raw(const fs::path& p, const std::string& header, const std::string& data,
                   std::uint64_t declared_len = UINT64_MAX) {
    std::uint64_t n = declared_len == UINT64_MAX ? header.size() : declared_len;
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return scx::test::write_text_file(p, bytes + header + data);
}

constexpr TensorDType kAllDTypes[] = {
    TensorDType::float32, TensorDType::float16, TensorDType::bfloat16, TensorDType::float64, TensorDType::int64,
    TensorDType::int32,   TensorDType::int16,   TensorDType::int8,     TensorDType::uint8,   TensorDType::bool_};

class SafetensorsDType : public ::testing::TestWithParam<TensorDType> {};

TEST_P(SafetensorsDType, RoundTripKeepsDTypeShapeAndBytes) {
    const TempDir tmp;
    const auto path = (tmp / "t.safetensors").string();
    const TensorMap in = {{"matrix", pattern_tensor(GetParam(), {3, 5}, 1)},
                          {"vector", pattern_tensor(GetParam(), {7}, 2)},
                          {"scalar", pattern_tensor(GetParam(), {}, 3)},
                          {"empty", pattern_tensor(GetParam(), {0, 4}, 4)}};
    scx::write_safetensors(path, in);
    const auto out = scx::read_safetensors(path);
    ASSERT_EQ(out.tensors.size(), in.size());
    EXPECT_TRUE(out.metadata.empty());
    for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(out.tensors[i].first, in[i].first); // header keeps the order given
        const auto& t = out.tensors[i].second;
        EXPECT_EQ(t.dtype, GetParam());
        EXPECT_EQ(t.shape, in[i].second.shape);
        EXPECT_EQ(bytes_of(t), bytes_of(in[i].second)) << in[i].first;
    }
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, SafetensorsDType, ::testing::ValuesIn(kAllDTypes),
                         [](const auto& info) { return std::string(scx::tensor_dtype_name(info.param)); });

TEST(Safetensors, MixedDTypesAreAlignedAndShareOneStorage) {
    const TempDir tmp;
    const auto path = (tmp / "mixed.safetensors").string();
    TensorMap in;
    int seed = 0;
    for (auto dt : kAllDTypes)
        in.emplace_back(scx::tensor_dtype_name(dt), pattern_tensor(dt, {3}, seed++)); // odd sizes
    scx::write_safetensors(path, in, {{"format", "pt"}});
    const auto raw = read_file(path);
    std::uint64_t n = 0;
    std::memcpy(&n, raw.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u) << "header is padded to a multiple of 8";
    EXPECT_EQ(raw[8 + n - 1] == ' ' || raw[8 + n - 1] == '}', true);

    const auto out = scx::read_safetensors(path);
    ASSERT_EQ(out.tensors.size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto& t = out.tensors[i].second;
        EXPECT_EQ(out.tensors[i].first, in[i].first);
        EXPECT_EQ(t.storage, out.tensors[0].second.storage) << "aligned tensors share the file's buffer";
        EXPECT_EQ(bytes_of(t), bytes_of(in[i].second));
    }
    EXPECT_EQ(out.metadata.at("format"), "pt");
}

TEST(Safetensors, MetadataRoundTrips) {
    const TempDir tmp;
    const auto path = (tmp / "meta.safetensors").string();
    const scx::SafetensorsMetadata meta = {
        {"format", "pt"}, {"note", "quotes \" and unicode \xc3\xa9"}, {"", "empty key"}};
    scx::write_safetensors(path, {{"w", pattern_tensor(TensorDType::float32, {2}, 0)}}, meta);
    EXPECT_EQ(scx::read_safetensors(path).metadata, meta);
    EXPECT_EQ(scx::read_safetensors_header(path).metadata, meta);
}

TEST(Safetensors, HeaderOnlyReadHasShapesButNoStorage) {
    const TempDir tmp;
    const auto path = (tmp / "h.safetensors").string();
    scx::write_safetensors(path, {{"w", pattern_tensor(TensorDType::float16, {4, 2}, 0)}});
    const auto h = scx::read_safetensors_header(path);
    ASSERT_EQ(h.tensors.size(), 1u);
    EXPECT_EQ(h.tensors[0].second.shape, (std::vector<std::int64_t>{4, 2}));
    EXPECT_EQ(h.tensors[0].second.dtype, TensorDType::float16);
    EXPECT_EQ(h.tensors[0].second.storage, nullptr);
}

TEST(Safetensors, StridedViewsAreMaterialised) {
    const TempDir tmp;
    const auto path = (tmp / "views.safetensors").string();
    std::vector<float> base(12);
    for (int i = 0; i < 12; ++i) base[i] = static_cast<float>(i);
    const auto whole = make_tensor(TensorDType::float32, {3, 4}, base); // [[0..3],[4..7],[8..11]]
    Tensor transposed = whole;                                          // [4, 3] view, column-major walk
    transposed.shape = {4, 3};
    transposed.strides = {1, 4};
    Tensor column = whole; // second column: [1, 5, 9]
    column.shape = {3};
    column.strides = {4};
    column.storage_offset = 1;
    Tensor row = whole; // last row: contiguous with an offset
    row.shape = {4};
    row.storage_offset = 8;
    Tensor reversed = whole; // negative stride: [11, 10, 9, 8]
    reversed.shape = {4};
    reversed.strides = {-1};
    reversed.storage_offset = 11;
    scx::write_safetensors(path, {{"t", transposed}, {"col", column}, {"row", row}, {"rev", reversed}});

    const auto out = scx::read_safetensors(path);
    EXPECT_EQ(find(out.tensors, "t").to_float("t"), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
    EXPECT_TRUE(find(out.tensors, "t").strides.empty());
    EXPECT_EQ(find(out.tensors, "col").to_float("col"), (std::vector<float>{1, 5, 9}));
    EXPECT_EQ(find(out.tensors, "row").to_float("row"), (std::vector<float>{8, 9, 10, 11}));
    EXPECT_EQ(find(out.tensors, "rev").to_float("rev"), (std::vector<float>{11, 10, 9, 8}));
}

TEST(Safetensors, WriterRefusesBadInputsAndLeavesNoFile) {
    const TempDir tmp;
    const auto path = (tmp / "bad.safetensors").string();
    const auto ok = pattern_tensor(TensorDType::float32, {2}, 0);
    Tensor outside = ok;
    outside.shape = {3}; // storage holds 2 elements
    auto msg = error_of([&] { scx::write_safetensors(path, {{"a", ok}, {"big", outside}}); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("'big'"), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(fs::is_empty(tmp.path())) << "the temporary file is removed";

    msg = error_of([&] { scx::write_safetensors(path, {{"a", ok}, {"a", ok}}); });
    EXPECT_NE(msg.find("'a' is given twice"), std::string::npos) << msg;
    msg = error_of([&] { scx::write_safetensors(path, {{"__metadata__", ok}}); });
    EXPECT_NE(msg.find("__metadata__"), std::string::npos) << msg;
    msg = error_of([&] { scx::write_safetensors((tmp / "no_such_dir" / "x.safetensors").string(), {{"a", ok}}); });
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(path));
}

TEST(Safetensors, WriterReplacesAnExistingFile) {
    const TempDir tmp;
    const auto path = (tmp / "x.safetensors").string();
    scx::test::write_text_file(path, "old contents");
    scx::write_safetensors(path, {{"a", pattern_tensor(TensorDType::int8, {5}, 0)}});
    EXPECT_EQ(scx::read_safetensors(path).tensors.size(), 1u);
}

// tests/fixtures/safetensors/all_dtypes.safetensors was written by the safetensors library itself.
TEST(Safetensors, ReadsFileWrittenByReferenceLibrary) {
    const auto path = std::string(SCX_SOURCE_DIR) + "/tests/fixtures/safetensors/all_dtypes.safetensors";
    const auto f = scx::read_safetensors(path);
    EXPECT_EQ(f.metadata, (scx::SafetensorsMetadata{{"format", "pt"}, {"made_by", "make_safetensors_fixture.py"}}));
    ASSERT_EQ(f.tensors.size(), 12u);
    const std::vector<float> floats = {-1.5f, 0.0f, 0.25f, 2.0f, 3.5f, -8.0f};
    for (const char* name : {"f64", "f32", "f16", "bf16"}) {
        const auto& t = find(f.tensors, name);
        EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 3})) << name;
        EXPECT_EQ(t.to_float(name), floats) << name;
    }
    EXPECT_EQ(find(f.tensors, "bf16").dtype, TensorDType::bfloat16);
    EXPECT_EQ(find(f.tensors, "f16").dtype, TensorDType::float16);

    auto ints = [&](const std::string& name, auto zero) {
        const auto b = bytes_of(find(f.tensors, name));
        std::vector<decltype(zero)> v(b.size() / sizeof(zero));
        std::memcpy(v.data(), b.data(), b.size());
        return v;
    };
    EXPECT_EQ(ints("i64", std::int64_t{}), (std::vector<std::int64_t>{-3, 0, 5, std::int64_t{1} << 40}));
    EXPECT_EQ(ints("i32", std::int32_t{}), (std::vector<std::int32_t>{-7, 1, 2, 2147483647}));
    EXPECT_EQ(find(f.tensors, "i32").shape, (std::vector<std::int64_t>{2, 2}));
    EXPECT_EQ(ints("i16", std::int16_t{}), (std::vector<std::int16_t>{-32768, 0, 32767}));
    EXPECT_EQ(ints("i8", std::int8_t{}), (std::vector<std::int8_t>{-128, -1, 0, 127}));
    EXPECT_EQ(ints("u8", std::uint8_t{}), (std::vector<std::uint8_t>{0, 1, 254, 255}));
    EXPECT_EQ(ints("bool", std::uint8_t{}), (std::vector<std::uint8_t>{1, 0, 1}));
    EXPECT_EQ(find(f.tensors, "bool").dtype, TensorDType::bool_);
    EXPECT_TRUE(find(f.tensors, "scalar").shape.empty());
    EXPECT_EQ(find(f.tensors, "scalar").to_float("scalar"), (std::vector<float>{7.0f}));
    EXPECT_EQ(find(f.tensors, "empty").shape, (std::vector<std::int64_t>{0, 4}));
    EXPECT_TRUE(find(f.tensors, "empty").to_float("empty").empty());

    // Rewriting what the reference wrote and reading it back changes nothing.
    const TempDir tmp;
    const auto copy = (tmp / "copy.safetensors").string();
    scx::write_safetensors(copy, f.tensors, f.metadata);
    const auto g = scx::read_safetensors(copy);
    ASSERT_EQ(g.tensors.size(), f.tensors.size());
    for (std::size_t i = 0; i < f.tensors.size(); ++i) {
        EXPECT_EQ(g.tensors[i].first, f.tensors[i].first);
        EXPECT_EQ(g.tensors[i].second.dtype, f.tensors[i].second.dtype);
        EXPECT_EQ(g.tensors[i].second.shape, f.tensors[i].second.shape);
        EXPECT_EQ(bytes_of(g.tensors[i].second), bytes_of(f.tensors[i].second));
    }
    EXPECT_EQ(g.metadata, f.metadata);
}

TEST(Safetensors, ReadsUnalignedTensorsIntoTheirOwnStorage) {
    // A writer without padding (header of odd length) leaves F32 data at odd offsets.
    const TempDir tmp;
    const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
    std::string data(1, '\x07');
    const float vals[2] = {1.5f, -2.0f};
    data.append(reinterpret_cast<const char*>(vals), 8);
    const auto p = write_raw(tmp / "u.safetensors", header, data);
    const auto f = scx::read_safetensors(p.string());
    EXPECT_EQ(find(f.tensors, "b").to_float("b"), (std::vector<float>{1.5f, -2.0f}));
    EXPECT_EQ(bytes_of(find(f.tensors, "a")), (std::vector<std::byte>{std::byte{7}}));
}

TEST(Safetensors, AcceptsAnEmptyFileOfNoTensors) {
    const TempDir tmp;
    const auto p = write_raw(tmp / "e.safetensors", "{}      ", "");
    EXPECT_TRUE(scx::read_safetensors(p.string()).tensors.empty());
}

struct Malformed {
    const char* name;
    std::string header;
    std::string data;
    std::uint64_t declared_len = UINT64_MAX;
    const char* expect;      // part of the message
    const char* tensor = ""; // the tensor the message must name, if any
};

std::string f32_entry(const std::string& name, const std::string& shape, std::uint64_t b, std::uint64_t e) {
    return "\"" + name + R"(":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[)" + std::to_string(b) + "," +
           std::to_string(e) + "]}";
}

std::vector<Malformed> malformed_cases() {
    const std::string d8(8, '\0'), d16(16, '\0');
    return {
        {"too_short", "", "", UINT64_MAX, "too short"}, // handled specially below: a 5-byte file
        {"length_past_end", "{}", "", 1000, "exceeds the"},
        {"not_json", R"({"a":)", "", UINT64_MAX, "not valid JSON"},
        {"not_object", R"([1,2,3])", "", UINT64_MAX, "does not start with '{'"},
        {"leading_space", R"( {})", "", UINT64_MAX, "does not start with '{'"},
        {"trailing_garbage", R"({}x)", "", UINT64_MAX, "not valid JSON"},
        {"duplicate_name", std::string("{") + f32_entry("w", "[2]", 0, 8) + "," + f32_entry("w", "[2]", 8, 16) + "}",
         d16, UINT64_MAX, "lists 'w' twice"},
        {"entry_not_object", R"({"w":[1]})", "", UINT64_MAX, "not a JSON object", "w"},
        {"missing_field", R"({"w":{"dtype":"F32","shape":[2]}})", d8, UINT64_MAX, "needs dtype, shape", "w"},
        {"unknown_field", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", d8, UINT64_MAX,
         "unknown header field 'x'", "w"},
        {"unknown_dtype", R"({"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}})", d8, UINT64_MAX,
         "unknown dtype 'F17'", "w"},
        {"unsupported_dtype", R"({"w":{"dtype":"U32","shape":[2],"data_offsets":[0,8]}})", d8, UINT64_MAX,
         "U32 is not supported", "w"},
        {"dtype_not_string", R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", d8, UINT64_MAX,
         "dtype is not a string", "w"},
        {"shape_not_array", R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", d8, UINT64_MAX,
         "shape is not an array", "w"},
        {"negative_dim", std::string("{") + f32_entry("w", "[-2]", 0, 8) + "}", d8, UINT64_MAX, "non-negative integer",
         "w"},
        {"fractional_dim", std::string("{") + f32_entry("w", "[2.5]", 0, 8) + "}", d8, UINT64_MAX,
         "non-negative integer", "w"},
        {"huge_shape", std::string("{") + f32_entry("w", "[4294967296,4294967296]", 0, 8) + "}", d8, UINT64_MAX,
         "overflows", "w"},
        {"offsets_one_number", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", d8, UINT64_MAX,
         "must be [begin, end]", "w"},
        {"offsets_negative", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", d8, UINT64_MAX,
         "not non-negative integers", "w"},
        {"offsets_reversed", std::string("{") + f32_entry("w", "[0]", 8, 0) + "}", d8, UINT64_MAX,
         "end before they begin", "w"},
        {"size_mismatch", std::string("{") + f32_entry("w", "[3]", 0, 8) + "}", d8, UINT64_MAX, "needs 12", "w"},
        {"past_buffer", std::string("{") + f32_entry("w", "[4]", 0, 16) + "}", d8, UINT64_MAX, "reach past", "w"},
        {"overlap", std::string("{") + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[2]", 4, 12) + "}", d16,
         UINT64_MAX, "overlap", "b"},
        {"same_range", std::string("{") + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[2]", 0, 8) + "}", d8,
         UINT64_MAX, "overlap", "a"},
        {"hole", std::string("{") + f32_entry("a", "[1]", 0, 4) + "," + f32_entry("b", "[1]", 8, 12) + "}",
         std::string(12, '\0'), UINT64_MAX, "belong to no tensor", "b"},
        {"trailing_bytes", std::string("{") + f32_entry("a", "[1]", 0, 4) + "}", d8, UINT64_MAX, "trailing bytes"},
        {"metadata_not_object", R"({"__metadata__":"x"})", "", UINT64_MAX, "'__metadata__' is not a JSON object"},
        {"metadata_not_string", R"({"__metadata__":{"epochs":6}})", "", UINT64_MAX,
         "value of 'epochs' is not a string"},
        {"bad_utf8", "{\"__metadata__\":{\"k\":\"\xff\"}}", "", UINT64_MAX, "not valid JSON"},
    };
}

class SafetensorsMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(SafetensorsMalformed, IsRefusedNamingTheFile) {
    const TempDir tmp;
    const auto& c = GetParam();
    const auto p = tmp / (std::string(c.name) + ".safetensors");
    if (std::string(c.name) == "too_short")
        scx::test::write_text_file(p, "abcde");
    else
        write_raw(p, c.header, c.data, c.declared_len);
    for (bool header_only : {false, true}) {
        const auto msg = error_of([&] {
            if (header_only) {
                (void)scx::read_safetensors_header(p.string());
            } else {
                (void)scx::read_safetensors(p.string());
            }
        });
        ASSERT_FALSE(msg.empty()) << c.name << " was accepted";
        EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
        EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
        if (*c.tensor) {
            EXPECT_NE(msg.find(std::string("'") + c.tensor + "'"), std::string::npos) << msg;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, SafetensorsMalformed, ::testing::ValuesIn(malformed_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Safetensors, RefusesHeaderAboveTheFormatLimit) {
    const TempDir tmp;
    const auto p = write_raw(tmp / "huge.safetensors", "{}", "", 100'000'001);
    fs::resize_file(p, 8 + 100'000'100); // sparse: nothing is written or read
    const auto msg = error_of([&] { (void)scx::read_safetensors_header(p.string()); });
    EXPECT_NE(msg.find("exceeds the format's limit"), std::string::npos) << msg;
}

TEST(Safetensors, RefusesMissingFilesAndDirectories) {
    const TempDir tmp;
    auto msg = error_of([&] { (void)scx::read_safetensors((tmp / "nope.safetensors").string()); });
    EXPECT_NE(msg.find("nope.safetensors"), std::string::npos) << msg;
    msg = error_of([&] { (void)scx::read_safetensors(tmp.path().string()); });
    EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
}

} // namespace
