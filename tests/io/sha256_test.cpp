// SHA-256 (io/sha256.hpp) against the FIPS 180-2 test vectors.

#include "scextract/io/sha256.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>

namespace {

using scx::test::error_of;
using scx::test::TempDir;

TEST(Sha256, KnownVectors) {
    const auto hex = [](const std::string& s) { return scx::sha256_hex(std::as_bytes(std::span(s.data(), s.size()))); };
    EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // incremental updates in odd pieces give the same digest
    const std::string m(1000, 'q');
    scx::Sha256 inc;
    for (std::size_t pos = 0; pos < m.size();) {
        const std::size_t n = std::min<std::size_t>(m.size() - pos, 1 + pos % 97);
        inc.update(std::as_bytes(std::span(m.data() + pos, n)));
        pos += n;
    }
    const auto d = inc.finish();
    std::string h;
    for (auto x : d) h += fmt::format("{:02x}", x);
    EXPECT_EQ(h, hex(m));
}

TEST(Sha256, File) {
    TempDir dir;
    const auto p = scx::test::write_text_file(dir / "f.bin", "abc");
    EXPECT_EQ(scx::sha256_file_hex(p.string()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_NE(error_of([&] { (void)scx::sha256_file_hex((dir / "nope").string()); }).find("cannot open"), std::string::npos);
}

} // namespace
