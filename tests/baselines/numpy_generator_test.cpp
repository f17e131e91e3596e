// np.random.default_rng(seed) reproduced: raw PCG64 output and Generator.integers(n) against
// numpy 2.4.6 (tests/fixtures/eval/numpy_generator.json from
// tests/fixtures/eval/make_numpy_generator_fixtures.py).
#include "scextract/baselines/numpy_generator.hpp"

#include "../support/error_of.hpp"
#include "../support/json_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

namespace scx {
namespace {

TEST(NumpyGenerator, MatchesNumpyDrawForDraw) {
    const auto doc = test::load_json_fixture("eval/numpy_generator.json");
    for (const auto& c : doc.at("raw")) {
        NumpyGenerator g(c.at("seed").get<std::uint32_t>());
        for (const auto& v : c.at("values")) EXPECT_EQ(g.next_uint64(), std::stoull(v.get<std::string>()));
    }
    for (const auto& c : doc.at("integers")) {
        NumpyGenerator g(c.at("seed").get<std::uint32_t>());
        const auto& ns = c.at("n");
        const auto& values = c.at("values");
        ASSERT_EQ(ns.size(), values.size());
        for (std::size_t i = 0; i < ns.size(); ++i)
            EXPECT_EQ(g.integers(ns[i].get<std::int64_t>()), values[i].get<std::int64_t>()) << "seed " << c.at("seed") << " call " << i;
    }
    NumpyGenerator g(1);
    EXPECT_NE(test::error_of([&] { (void)g.integers(0); }).find("outside 1 .. 2^32"), std::string::npos);
}

} // namespace
} // namespace scx
