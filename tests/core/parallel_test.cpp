#include "scextract/core/parallel.hpp"
#include "scextract/core/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace scx {
namespace {

// A float reduction done per chunk and combined in chunk order must give the
// same bits for every thread count.
float chunked_sum(const std::vector<float>& v, int threads) {
    constexpr std::int64_t chunk = 97;
    std::vector<float> partial(static_cast<std::size_t>(chunk_count(static_cast<std::int64_t>(v.size()), chunk)), 0.0f);
    parallel_for(static_cast<std::int64_t>(v.size()), chunk, threads, [&](std::int64_t c, std::int64_t b, std::int64_t e) {
        float s = 0;
        for (auto i = b; i < e; ++i) s += v[i];
        partial[c] = s;
    });
    float total = 0;
    for (float p : partial) total += p;
    return total;
}

class ParallelThreads : public ::testing::TestWithParam<int> {};

TEST_P(ParallelThreads, SameBitsAsOneThread) {
    std::vector<float> v(100003);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i)) * 1e3f;
    EXPECT_EQ(chunked_sum(v, GetParam()), chunked_sum(v, 1));
}

INSTANTIATE_TEST_SUITE_P(Threads, ParallelThreads, ::testing::Values(1, 2, 3, 8));

TEST(Parallel, CoversEveryIndexOnce) {
    std::vector<int> hits(1000, 0);
    parallel_for(1000, 64, 4, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        for (auto i = b; i < e; ++i) ++hits[i];
    });
    for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(Parallel, RethrowsWorkerErrors) {
    EXPECT_THROW(parallel_for(100, 10, 2,
                              [](std::int64_t c, std::int64_t, std::int64_t) {
                                  if (c == 3) throw Error("chunk 3 failed");
                              }),
                 Error);
}

} // namespace
} // namespace scx
