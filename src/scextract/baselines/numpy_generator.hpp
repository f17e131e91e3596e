#pragma once
/// @file numpy_generator.hpp
/// @brief numpy's default random generator, np.random.default_rng(seed), reproduced bit for
/// bit for the draws our reference tools make with it: SeedSequence seeding, the PCG64 bit
/// generator (XSL-RR 128/64) and Generator.integers(n) (Lemire's bounded integers with
/// numpy's 32-bit buffering). Palantir samples its first waypoints with
/// np.random.default_rng(20).integers(N); with this, ours are palantir's.

#include <cstdint>

namespace scx {

/// np.random.default_rng(seed) for a non-negative integer seed below 2^32.
class NumpyGenerator {
public:
    explicit NumpyGenerator(std::uint32_t seed);
    /// PCG64's next 64 bits (Generator.bit_generator.random_raw()).
    std::uint64_t next_uint64();
    /// The next 32 bits, as numpy's PCG64 hands them out: the low half of a fresh 64-bit
    /// draw, then its high half.
    std::uint32_t next_uint32();
    /// Generator.integers(n): uniform in [0, n) for 1 <= n <= 2^32 (what palantir asks for).
    std::int64_t integers(std::int64_t n);

private:
    unsigned __int128 state_ = 0, increment_ = 0;
    bool has_uint32_ = false;
    std::uint32_t uinteger_ = 0;
};

} // namespace scx
