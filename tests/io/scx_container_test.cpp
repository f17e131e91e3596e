// The scx container (io/scx_container.hpp): round trips, the layout on disk, and every
// corruption the reader must name.

#include "scextract/io/scx_container.hpp"

#include "../support/container_bytes.hpp"
#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using scx::test::edit_header;
using scx::test::error_of;
using scx::test::fix_header_crc;
using scx::test::read_all;
using scx::test::u64_at;
using scx::test::write_all;
using scx::test::TempDir;

struct Sample {
    std::vector<float> f{1.5F, -2.0F, 3.25F, 0.0F, 7.0F, 8.5F};
    std::vector<std::int64_t> i{-1, 0, 1LL << 40};
    std::vector<std::int32_t> small{4, 5};
};

fs::path write_sample(const TempDir& dir, const Sample& s, const std::string& kind = "operator") {
    const auto path = dir / "sample.scx";
    nlohmann::ordered_json meta = {{"what", "test"}, {"n", 3}, {"unicode", "Zellkern \xC3\xA4"}};
    scx::ContainerArrayView f{"floats", scx::ContainerDType::float32, {2, 3}, {}};
    f.add_piece(std::span<const float>(s.f.data(), 2)).add_piece(std::span<const float>(s.f.data() + 2, 4));
    scx::write_scx_container(path.string(), kind, meta,
                        {f, scx::ContainerArrayView::i64("ints", {3}, s.i), scx::ContainerArrayView::i32("small", {2}, s.small),
                         scx::ContainerArrayView::f32("empty", {0, 5}, {})});
    return path;
}

TEST(ScxContainer, RoundTrip) {
    TempDir dir;
    const Sample s;
    const auto path = write_sample(dir, s);
    const scx::ScxContainer c(path.string());
    EXPECT_EQ(c.version(), 1u);
    EXPECT_EQ(c.kind(), "operator");
    EXPECT_EQ(c.metadata()["what"], "test");
    EXPECT_EQ(c.metadata()["unicode"], "Zellkern \xC3\xA4");
    ASSERT_EQ(c.arrays().size(), 4u);
    EXPECT_EQ(c.arrays()[0].name, "floats"); // header order = write order
    EXPECT_EQ(c.info("floats").shape, (std::vector<std::int64_t>{2, 3}));
    const auto f = c.array_f32("floats");
    EXPECT_EQ(std::vector<float>(f.begin(), f.end()), s.f);
    const auto i = c.array_i64("ints");
    EXPECT_EQ(std::vector<std::int64_t>(i.begin(), i.end()), s.i);
    const auto sm = c.array_i32("small");
    EXPECT_EQ(std::vector<std::int32_t>(sm.begin(), sm.end()), s.small);
    EXPECT_TRUE(c.array_f32("empty").empty());
    for (const auto& a : c.arrays()) {
        EXPECT_EQ(a.offset % 64, 0u) << a.name;
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(c.bytes(a.name).data()) % 64, 0u) << a.name;
    }
    EXPECT_TRUE(c.has_array("ints"));
    EXPECT_FALSE(c.has_array("nope"));
    EXPECT_NE(error_of([&] { (void)c.array_f32("ints"); }).find("array 'ints' has dtype <i8, expected <f4"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)c.info("nope"); }).find("has no array 'nope' (arrays: floats, ints, small, empty)"),
              std::string::npos);

    // moved-from containers give up the mapping; the moved-to one still reads
    scx::ScxContainer moved = scx::ScxContainer(path.string());
    EXPECT_EQ(moved.array_i64("ints")[2], 1LL << 40);
}

TEST(ScxContainer, LayoutOnDisk) {
    TempDir dir;
    const auto path = write_sample(dir, Sample{});
    const auto b = read_all(path);
    ASSERT_GE(b.size(), 28u);
    EXPECT_EQ(std::memcmp(b.data(), "SCXFILE\0", 8), 0);
    std::uint32_t version, reserved;
    std::memcpy(&version, b.data() + 8, 4);
    std::memcpy(&reserved, b.data() + 12, 4);
    EXPECT_EQ(version, 1u);
    EXPECT_EQ(reserved, 0u);
    const std::uint64_t h = u64_at(b, 16);
    EXPECT_EQ(h % 64, 0u);
    const std::string text(b.data() + 24, h);
    EXPECT_EQ(text.find_last_not_of(' ') + 1, text.find(' ', text.find_last_not_of(' '))); // JSON then spaces only
    const auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["kind"], "operator");
    std::uint32_t stored;
    std::memcpy(&stored, b.data() + 24 + h, 4);
    EXPECT_EQ(stored, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(24 + h))));
    const auto& floats = j["arrays"][0];
    EXPECT_EQ(floats["dtype"], "<f4");
    EXPECT_EQ(floats["nbytes"], 24);
    EXPECT_GE(floats["offset"].get<std::uint64_t>(), 24 + h + 4);
    const auto off = floats["offset"].get<std::size_t>();
    EXPECT_EQ(floats["crc32"].get<std::uint32_t>(),
              static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(b.data() + off), 24)));
    EXPECT_EQ(j["arrays"][1]["dtype"], "<i8");
    EXPECT_EQ(j["arrays"][2]["dtype"], "<i4");
}

TEST(ScxContainer, LargeHeaderGrowsUntilOffsetsFit) {
    // metadata near a 64-byte boundary: offsets are written into the header they depend on
    TempDir dir;
    const std::vector<float> x{1, 2, 3};
    for (int pad = 0; pad < 130; ++pad) {
        const auto path = dir / "h.scx";
        scx::write_scx_container(path.string(), "k", {{"pad", std::string(pad, 'x')}}, {scx::ContainerArrayView::f32("x", {3}, x)});
        const scx::ScxContainer c(path.string());
        ASSERT_EQ(c.array_f32("x")[2], 3.0F) << pad;
    }
}

TEST(ScxContainer, FlippedArrayByteIsAChecksumErrorNamingTheArray) {
    TempDir dir;
    const auto path = write_sample(dir, Sample{});
    const std::uint64_t off = scx::ScxContainer(path.string()).info("ints").offset;
    auto b = read_all(path);
    b[off + 3] ^= 0x10;
    write_all(path, b);
    const auto msg = error_of([&] { scx::ScxContainer c(path.string()); });
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("checksum mismatch in array 'ints'"), std::string::npos) << msg;
    // without verification the file opens, and verify_array() names the array
    const scx::ScxContainer lazy(path.string(), {.verify_checksums = false});
    EXPECT_NO_THROW(lazy.verify_array("floats"));
    EXPECT_NE(error_of([&] { lazy.verify_array("ints"); }).find("checksum mismatch in array 'ints'"), std::string::npos);
}

TEST(ScxContainer, FlippedHeaderByteIsAHeaderChecksumError) {
    TempDir dir;
    const auto path = write_sample(dir, Sample{});
    auto b = read_all(path);
    b[40] ^= 0x01;
    write_all(path, b);
    EXPECT_NE(error_of([&] { scx::ScxContainer c(path.string()); }).find("header checksum mismatch"), std::string::npos);
}

TEST(ScxContainer, Truncated) {
    TempDir dir;
    const auto path = write_sample(dir, Sample{});
    const auto full = read_all(path);
    for (std::size_t keep : {std::size_t{0}, std::size_t{10}, std::size_t{100}, full.size() - 1}) {
        write_all(path, std::vector<char>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(keep)));
        const auto msg = error_of([&] { scx::ScxContainer c(path.string()); });
        EXPECT_NE(msg.find(path.string()), std::string::npos) << keep;
        EXPECT_NE(msg.find("truncated"), std::string::npos) << keep << ": " << msg;
    }
}

TEST(ScxContainer, BadMagicVersionReservedAndMissingFile) {
    TempDir dir;
    const auto path = write_sample(dir, Sample{});
    const auto good = read_all(path);

    auto b = good;
    std::memcpy(b.data(), "\x89HDF\r\n\x1a\n", 8);
    write_all(path, b);
    auto msg = error_of([&] { scx::ScxContainer c(path.string()); });
    EXPECT_NE(msg.find("not an scextract container (bad magic \"\\x89HDF\\x0d\\x0a\\x1a\\x0a\""), std::string::npos) << msg;

    b = good;
    const std::uint32_t v2 = 2;
    std::memcpy(b.data() + 8, &v2, 4);
    write_all(path, b);
    msg = error_of([&] { scx::ScxContainer c(path.string()); });
    EXPECT_NE(msg.find("unsupported container format version 2"), std::string::npos) << msg;

    b = good;
    b[12] = 1;
    write_all(path, b);
    EXPECT_NE(error_of([&] { scx::ScxContainer c(path.string()); }).find("reserved field is 1"), std::string::npos);

    EXPECT_NE(error_of([&] { scx::ScxContainer c((dir / "absent.scx").string()); }).find("absent.scx: cannot open"),
              std::string::npos);
    EXPECT_NE(error_of([&] { scx::ScxContainer c(dir.path().string()); }).find("not a regular file"), std::string::npos);
}

TEST(ScxContainer, WrongKind) {
    TempDir dir;
    const auto path = write_sample(dir, Sample{}, "algorithm");
    const auto msg = error_of([&] { scx::ScxContainer c(path.string(), {.expected_kind = "operator"}); });
    EXPECT_NE(msg.find("is a container of kind \"algorithm\", expected \"operator\""), std::string::npos) << msg;
}

TEST(ScxContainer, HeaderProblemsAreNamed) {
    TempDir dir;
    const Sample s;
    const auto check = [&](const std::function<void(nlohmann::ordered_json&)>& edit, const std::string& want) {
        const auto path = write_sample(dir, s);
        edit_header(path, edit);
        const auto msg = error_of([&] { scx::ScxContainer c(path.string()); });
        EXPECT_NE(msg.find(want), std::string::npos) << "want '" << want << "', got: " << msg;
        EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    };
    check([](auto& j) { j["arrays"][1]["offset"] = 1u << 30; }, "array 'ints' (bytes 1073741824..1073741848) lies outside the file");
    check([](auto& j) { j["arrays"][1]["offset"] = j["arrays"][1]["offset"].template get<std::uint64_t>() + 8; },
          "array 'ints': offset");
    check([](auto& j) { j["arrays"][1]["offset"] = j["arrays"][0]["offset"]; }, "overlap");
    check([](auto& j) { j["arrays"][0]["dtype"] = ">f4"; }, "array 'floats' has unsupported dtype \">f4\"");
    check([](auto& j) { j["arrays"][0]["shape"] = {2, 4}; }, "array 'floats': nbytes 24 does not match shape [2, 4]");
    check([](auto& j) { j["arrays"][0]["shape"] = {-2, 3}; }, "array 'floats' has an invalid dimension -2");
    check([](auto& j) { j["arrays"][1]["name"] = "floats"; }, "array 'floats' is listed twice");
    check([](auto& j) { j["arrays"][0].erase("crc32"); }, "array 'floats' has no \"crc32\"");
    check([](auto& j) { j.erase("kind"); }, "header has no \"kind\" string");
    check([](auto& j) { j["metadata"] = 3; }, "header has no \"metadata\" object");
    check([](auto& j) { j["arrays"] = "none"; }, "header has no \"arrays\" list");
    check([](auto& j) { j = nlohmann::ordered_json::array(); }, "header JSON is not an object");

    // text that is not JSON at all
    const auto path = write_sample(dir, s);
    auto b = read_all(path);
    b[24] = '#';
    fix_header_crc(b);
    write_all(path, b);
    EXPECT_NE(error_of([&] { scx::ScxContainer c(path.string()); }).find("header JSON is invalid"), std::string::npos);
}

TEST(ScxContainer, WriterRefusesBadInput) {
    TempDir dir;
    const auto p = (dir / "w.scx").string();
    const std::vector<float> x{1, 2, 3};
    EXPECT_NE(error_of([&] { scx::write_scx_container(p, "", {}, {}); }).find("kind is empty"), std::string::npos);
    EXPECT_NE(error_of([&] { scx::write_scx_container(p, "k", nlohmann::ordered_json::array(), {}); }).find("must be a JSON object"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  scx::write_scx_container(p, "k", {}, {scx::ContainerArrayView::f32("a", {3}, x), scx::ContainerArrayView::f32("a", {3}, x)});
              }).find("array 'a' is given twice"),
              std::string::npos);
    EXPECT_NE(error_of([&] { scx::write_scx_container(p, "k", {}, {scx::ContainerArrayView::f32("a", {2, 2}, x)}); })
                  .find("needs 16 bytes but 12 were given"),
              std::string::npos);
    EXPECT_NE(error_of([&] { scx::write_scx_container(p, "k", {}, {scx::ContainerArrayView::f32("a", {-1}, x)}); }).find("invalid shape"),
              std::string::npos);
    EXPECT_NE(error_of([&] { scx::write_scx_container((dir / "no/such/dir/x.scx").string(), "k", {}, {}); }).find("does not exist"),
              std::string::npos);
    EXPECT_FALSE(fs::exists(p)); // nothing half-written
    // a container with no arrays is valid
    scx::write_scx_container(p, "k", {{"a", 1}}, {});
    EXPECT_TRUE(scx::ScxContainer(p).arrays().empty());
}

} // namespace
