// hypergeometric_upper_tail() against scipy.stats.hypergeom.sf on the same draws
// (tests/fixtures/interpret/make_interpret_fixtures.py writes the reference values).
#include "scextract/core/error.hpp"
#include "scextract/stats/statistics.hpp"

#include "../support/json_fixture.hpp"

#include <gtest/gtest.h>

namespace {

TEST(Hypergeometric, MatchesScipyFromTinyToGenomeSizedDraws) {
    const auto ref = scx::test::load_json_fixture("interpret/interpret.json");
    ASSERT_GE(ref.at("hypergeometric_sf").size(), 10U);
    for (const auto& c : ref.at("hypergeometric_sf")) {
        const double expected = c.at("sf").get<double>();
        const double got = scx::hypergeometric_upper_tail(c.at("k").get<std::int64_t>(), c.at("population").get<std::int64_t>(),
                                                          c.at("successes").get<std::int64_t>(), c.at("draws").get<std::int64_t>());
        EXPECT_NEAR(got, expected, 1e-12 + 1e-9 * expected) << c.dump();
    }
}

TEST(Hypergeometric, RefusesImpossibleDraws) {
    EXPECT_THROW(scx::hypergeometric_upper_tail(1, 10, 11, 3), scx::Error);
    EXPECT_THROW(scx::hypergeometric_upper_tail(1, 10, 3, 11), scx::Error);
    EXPECT_THROW(scx::hypergeometric_upper_tail(1, -1, 0, 0), scx::Error);
}

} // namespace
