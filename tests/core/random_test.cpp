// The seeded generator's streams: keyed streams are SplitMix64-seeded xoshiro256**, and a
// caller keying streams its own way (model/scgpt_init.cpp) gets the same generator.

#include "scextract/core/random.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace scx {
namespace {

TEST(Rng, KeyedStreamIsTheSplitMixSeededGenerator) {
    for (const std::uint64_t stream : {0ULL, 1ULL, 12345ULL}) {
        Rng keyed(42, stream);
        auto own = Rng::from_splitmix_state(42 ^ (0xD1B54A32D192ED03ULL * (stream + 1)));
        for (int i = 0; i < 100; ++i) ASSERT_EQ(keyed.next(), own.next()) << stream << " " << i;
    }
}

TEST(Rng, StreamsDiffer) {
    Rng a(42, 0), b(42, 1), c(43, 0);
    const auto x = a.next();
    EXPECT_NE(x, b.next());
    EXPECT_NE(x, c.next());
}

} // namespace
} // namespace scx
