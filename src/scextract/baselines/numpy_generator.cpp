#include "scextract/baselines/numpy_generator.hpp"

#include "scextract/core/error.hpp"

#include <array>

#include <fmt/format.h>

namespace scx {

namespace {

// numpy/random/bit_generator.pyx (SeedSequence)
constexpr std::uint32_t kInitA = 0x43b0d7e5, kMultA = 0x931e8875, kInitB = 0x8b51f9dd, kMultB = 0x58f38ded;
constexpr std::uint32_t kMixMultL = 0xca01f9dd, kMixMultR = 0x4973f715;
constexpr int kXShift = 16;
constexpr std::size_t kPoolSize = 4;

// PCG64's multiplier (numpy/random/src/pcg64/pcg64.h)
constexpr unsigned __int128 kPcgMultiplier =
    (static_cast<unsigned __int128>(0x2360ED051FC65DA4ULL) << 64) | 0x4385DF649FCCF645ULL;

std::uint32_t hashmix(std::uint32_t value, std::uint32_t& hash_const) {
    value ^= hash_const;
    hash_const *= kMultA;
    value *= hash_const;
    value ^= value >> kXShift;
    return value;
}

std::uint32_t mix(std::uint32_t x, std::uint32_t y) {
    std::uint32_t r = kMixMultL * x - kMixMultR * y;
    r ^= r >> kXShift;
    return r;
}

/// SeedSequence(seed).generate_state(4, np.uint64)
std::array<std::uint64_t, 4> seed_sequence_state(std::uint32_t seed) {
    std::array<std::uint32_t, kPoolSize> pool{};
    std::uint32_t hash_const = kInitA;
    for (std::size_t i = 0; i < kPoolSize; ++i) pool[i] = hashmix(i == 0 ? seed : 0U, hash_const);
    for (std::size_t src = 0; src < kPoolSize; ++src)
        for (std::size_t dst = 0; dst < kPoolSize; ++dst)
            if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], hash_const));
    std::array<std::uint64_t, 4> out{};
    std::uint32_t hb = kInitB;
    for (std::size_t i = 0; i < 8; ++i) {
        std::uint32_t v = pool[i % kPoolSize];
        v ^= hb;
        hb *= kMultB;
        v *= hb;
        v ^= v >> kXShift;
        // uint32 words viewed as little-endian uint64: word 2k is the low half
        out[i / 2] |= static_cast<std::uint64_t>(v) << (32 * (i % 2));
    }
    return out;
}

} // namespace

NumpyGenerator::NumpyGenerator(std::uint32_t seed) {
    const auto s = seed_sequence_state(seed);
    const unsigned __int128 initstate = (static_cast<unsigned __int128>(s[0]) << 64) | s[1];
    const unsigned __int128 initseq = (static_cast<unsigned __int128>(s[2]) << 64) | s[3];
    // pcg_setseq_128_srandom_r
    state_ = 0;
    increment_ = (initseq << 1) | 1;
    state_ = state_ * kPcgMultiplier + increment_;
    state_ += initstate;
    state_ = state_ * kPcgMultiplier + increment_;
}

std::uint64_t NumpyGenerator::next_uint64() {
    state_ = state_ * kPcgMultiplier + increment_;
    const auto hi = static_cast<std::uint64_t>(state_ >> 64), lo = static_cast<std::uint64_t>(state_);
    const unsigned rot = static_cast<unsigned>(state_ >> 122);
    const std::uint64_t x = hi ^ lo;
    return (x >> rot) | (x << ((64U - rot) & 63U));
}

std::uint32_t NumpyGenerator::next_uint32() {
    if (has_uint32_) {
        has_uint32_ = false;
        return uinteger_;
    }
    const std::uint64_t next = next_uint64();
    has_uint32_ = true;
    uinteger_ = static_cast<std::uint32_t>(next >> 32);
    return static_cast<std::uint32_t>(next & 0xffffffffULL);
}

std::int64_t NumpyGenerator::integers(std::int64_t n) {
    if (n < 1 || n > (std::int64_t{1} << 32))
        throw Error(fmt::format("numpy generator: integers({}) is outside 1 .. 2^32", n));
    const auto rng = static_cast<std::uint64_t>(n - 1); // numpy's inclusive range
    if (rng == 0) return 0;
    if (rng == 0xffffffffULL) return next_uint32();
    // Lemire's method on 32 bits (numpy's buffered_bounded_lemire_uint32)
    const auto rng_excl = static_cast<std::uint32_t>(rng + 1);
    std::uint64_t m = static_cast<std::uint64_t>(next_uint32()) * rng_excl;
    auto leftover = static_cast<std::uint32_t>(m & 0xffffffffULL);
    if (leftover < rng_excl) {
        const std::uint32_t threshold = (0xffffffffU - static_cast<std::uint32_t>(rng)) % rng_excl;
        while (leftover < threshold) {
            m = static_cast<std::uint64_t>(next_uint32()) * rng_excl;
            leftover = static_cast<std::uint32_t>(m & 0xffffffffULL);
        }
    }
    return static_cast<std::int64_t>(m >> 32);
}

} // namespace scx
