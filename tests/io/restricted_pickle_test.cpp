// Pickles built byte by byte that would make an unbounded machine use exponential work or
// gigabytes of memory: each must be refused quickly with one line naming the source.

#include "scextract/io/restricted_pickle.hpp"

#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using scx::test::error_of;

std::string unpickle_error(const std::string& bytes) {
    scx::pickle::Resolver plain;
    const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    const auto start = std::chrono::steady_clock::now();
    auto msg = error_of([&] { (void)scx::pickle::unpickle(data, plain, "bomb.pt"); });
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0) << msg; // refused before the work, not after
    EXPECT_EQ(msg.rfind("bomb.pt: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
}

TEST(RestrictedPickle, RefusesADagOfSharedTuplesAsADictKey) {
    // d = {}; t = None; 40 times: t = (t, t); d[t] = None. 87 bytes whose key expands to 2^40
    // leaves when walked as a tree; Python itself would hash for hours.
    for (const char build : {'s', 'd'}) { // through SETITEM and through DICT
        std::string p = "\x80\x02";
        if (build == 's') p += '}';
        else p += '(';
        p += 'N';
        for (int i = 0; i < 40; ++i) p += "2\x86"; // DUP, TUPLE2
        p += 'N';
        p += build;
        p += '.';
        EXPECT_LT(p.size(), 100u);
        const auto msg = unpickle_error(p);
        EXPECT_NE(msg.find("pickled dict key expands to more than 65536 bytes"), std::string::npos) << msg;
    }
}

TEST(RestrictedPickle, RefusesADupBomb) {
    // None followed by 2.3 million DUPs: 2.3 MB of pickle, one stack entry per byte
    std::string p = "\x80\x02N";
    p.append(2'300'000, '2');
    p += '.';
    const auto msg = unpickle_error(p);
    EXPECT_NE(msg.find("pickle creates more than 1048576 objects"), std::string::npos) << msg;
    // the same through memo GETs of one big list
    using namespace std::string_literals; // "\x00" inside the pickle bytes
    std::string q = "\x80\x02]q\x00"s;
    q.reserve(2'200'000);
    for (int i = 0; i < 1'100'000; ++i) q += "h\x00"s;
    q += '.';
    EXPECT_NE(unpickle_error(q).find("more than 1048576 objects"), std::string::npos);
}

TEST(RestrictedPickle, BoundsTheTextOfDictKeys) {
    using namespace std::string_literals;
    // one 100 KB string key
    std::string big = "\x80\x02}X";
    const std::uint32_t n = 100000;
    for (int i = 0; i < 4; ++i) big += static_cast<char>((n >> (8 * i)) & 0xff);
    big += std::string(n, 'k');
    big += "Ns.";
    EXPECT_NE(unpickle_error(big).find("pickled dict key is longer than 65536 bytes"), std::string::npos);
    // a 60 KB key memoised once and set in 2,000 dicts: 120 MB of hashing
    std::string many = "\x80\x02X";
    const std::uint32_t m = 60000;
    for (int i = 0; i < 4; ++i) many += static_cast<char>((m >> (8 * i)) & 0xff);
    many += std::string(m, 'k');
    many += "q\x00"s; // BINPUT 0
    many += '0';     // POP
    for (int i = 0; i < 2000; ++i) many += "}h\x00Ns0"s; // {}, GET key, None, SETITEM, POP
    many += "N.";
    EXPECT_NE(unpickle_error(many).find("pickled dict keys add up to more than 67108864 bytes"), std::string::npos);
}

TEST(RestrictedPickle, OrdinaryKeysAndNestingStillWork) {
    // 5,000 string keys and a tuple key of 10 levels
    std::string p = "\x80\x02}(";
    for (int i = 0; i < 5000; ++i) {
        const auto key = "layer." + std::to_string(i) + ".weight";
        p += '\x8c';
        p += static_cast<char>(key.size());
        p += key;
        p += 'N';
    }
    p += 'u';
    p += 'N';
    for (int i = 0; i < 10; ++i) p += "2\x86";
    p += "Ns.";
    scx::pickle::Resolver plain;
    const auto u = scx::pickle::unpickle({reinterpret_cast<const std::byte*>(p.data()), p.size()}, plain, "ok.pt");
    EXPECT_EQ(u.root->entries.size(), 5001u);
}

} // namespace
