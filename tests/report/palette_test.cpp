// Issue 19, item 8: categorical colours that never repeat within a figure.

#include "scextract/report/palette.hpp"

#include <cmath>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace scx::report {
namespace {

TEST(Palette, NoColourRepeatsUpToFortyClasses) {
    for (std::size_t n = 0; n <= 40; ++n) {
        const auto colours = distinct_palette(n);
        ASSERT_EQ(colours.size(), n);
        const std::set<std::string> distinct(colours.begin(), colours.end());
        EXPECT_EQ(distinct.size(), n) << n << " classes";
        const auto distance = [](const std::string& a, const std::string& b) {
            const auto rgb = [](const std::string& c, int k) { return std::stoi(c.substr(1 + 2 * k, 2), nullptr, 16); };
            double d = 0;
            for (int k = 0; k < 3; ++k) d += std::pow(rgb(a, k) - rgb(b, k), 2);
            return std::sqrt(d);
        };
        for (std::size_t a = 0; a < n; ++a) {
            ASSERT_EQ(colours[a].size(), 7u) << colours[a];
            EXPECT_NE(colours[a], "#ffffff");
            // any two differ by more than a rounding step; hue neighbours (wrapping around) by much more
            for (std::size_t b = 0; b < a; ++b) EXPECT_GT(distance(colours[a], colours[b]), 20) << n << ": " << a << ", " << b;
            if (n > 14) EXPECT_GT(distance(colours[a], colours[(a + 1) % n]), 60) << n << " classes: " << a;
        }
    }
    EXPECT_EQ(distinct_palette(35), distinct_palette(35)); // deterministic
}

} // namespace
} // namespace scx::report
