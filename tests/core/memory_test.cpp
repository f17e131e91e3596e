#include "scextract/core/memory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace scx {
namespace {

// A large buffer is faulted in on every thread first; what the caller sees is the plain
// resize: n zeros, and a reused buffer is not reallocated for a block a little larger.
TEST(ResizeForBulkRead, LargeBuffersAreZeroAndReused) {
    std::vector<float> v;
    const std::size_t n = (std::size_t{24} << 20) / sizeof(float) + 7; // past the populate threshold, not page-aligned
    resize_for_bulk_read(v, n);
    ASSERT_EQ(v.size(), n);
    EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; }));
    v.back() = 1.0f;
    const float* data = v.data();
    resize_for_bulk_read(v, n + n / 8); // within the quarter kept in reserve
    EXPECT_EQ(v.data(), data);
    EXPECT_EQ(v[n - 1], 1.0f);
    EXPECT_EQ(v.back(), 0.0f);
    std::vector<std::int32_t> small;
    resize_for_bulk_read(small, 5);
    EXPECT_EQ(small, std::vector<std::int32_t>(5, 0));
}

TEST(PopulatePages, WritableAfterwardsAtAnyAlignment) {
    std::vector<unsigned char> bytes(std::size_t{9} << 20, 7);
    populate_pages(bytes.data() + 3, bytes.size() - 5); // never changes what is there
    EXPECT_TRUE(std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 7; }));
    populate_pages(bytes.data(), 0);
}

} // namespace
} // namespace scx

TEST(PeakResidentMb, GrowsWithMemoryThisProgramTouches) {
    const double before = scx::peak_resident_mb();
    EXPECT_GT(before, 0.0);
    std::vector<char> block(std::size_t{96} << 20);
    for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = 1; // resident only once touched
    EXPECT_GE(scx::peak_resident_mb(), before + 90.0); // the 96 MB, less what was already resident
    EXPECT_EQ(block[4096], 1);
}
