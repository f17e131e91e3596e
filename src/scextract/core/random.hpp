#pragma once
/// @file random.hpp
/// @brief Seeded random numbers that give the same values on every platform.
///
/// The standard library's distributions are implementation-defined (libstdc++ and
/// libc++ draw different normals from the same engine), so everything scextract
/// samples goes through these: xoshiro256** seeded by SplitMix64, and samplers
/// written out here. Streams are keyed (seed, stream id), so cell i always gets the
/// same numbers whichever thread or block handles it.

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

namespace scx {

/// SplitMix64 step: a strong 64-bit mixer, used to derive seeds.
inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// xoshiro256** (Blackman & Vigna), with uniform, normal, gamma and Poisson draws.
class Rng {
public:
    /// The stream @p stream of master seed @p seed (e.g. stream = cell index).
    explicit Rng(std::uint64_t seed, std::uint64_t stream = 0)
        : Rng(SplitMixState{}, seed ^ (0xD1B54A32D192ED03ULL * (stream + 1))) {}

    /// The generator whose state is the next four SplitMix64 outputs from @p state, for callers
    /// that key streams their own way (e.g. by a hashed name).
    static Rng from_splitmix_state(std::uint64_t state) { return Rng(SplitMixState{}, state); }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// Uniform in (0, 1): safe for log().
    double uniform_open() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
    /// Uniform integer in [0, n) (n > 0), by rejection so there is no modulo bias.
    std::uint64_t below(std::uint64_t n) {
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
        std::uint64_t x;
        do x = next();
        while (x >= limit);
        return x % n;
    }

    /// Standard normal (Box-Muller; the second value is cached).
    double normal() {
        if (have_spare_) {
            have_spare_ = false;
            return spare_;
        }
        const double u = uniform_open(), v = uniform();
        const double r = std::sqrt(-2.0 * std::log(u));
        spare_ = r * std::sin(2.0 * std::numbers::pi * v);
        have_spare_ = true;
        return r * std::cos(2.0 * std::numbers::pi * v);
    }

    /// Gamma(shape, scale 1) by Marsaglia & Tsang (2000); shape < 1 via the boost U^(1/shape).
    double gamma(double shape) {
        if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform_open(), 1.0 / shape);
        const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
        for (;;) {
            double x, v;
            do {
                x = normal();
                v = 1.0 + c * x;
            } while (v <= 0.0);
            v = v * v * v;
            const double u = uniform_open();
            if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
            if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
        }
    }

    /// Poisson(mean): inversion below mean 12, Hörmann's PTRS (1993) above.
    std::int64_t poisson(double mean) {
        if (!(mean > 0.0)) return 0;
        if (mean < 12.0) {
            const double limit = std::exp(-mean);
            double p = uniform();
            std::int64_t k = 0;
            double term = limit, cdf = limit;
            while (p > cdf && k < 1000) {
                ++k;
                term *= mean / static_cast<double>(k);
                cdf += term;
            }
            return k;
        }
        const double slam = std::sqrt(mean), loglam = std::log(mean);
        const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
        const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
        for (;;) {
            const double u = uniform() - 0.5, v = uniform_open();
            const double us = 0.5 - std::fabs(u);
            const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
            if (us >= 0.07 && v <= vr) return static_cast<std::int64_t>(k);
            if (k < 0.0 || (us < 0.013 && v > us)) continue;
            if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <=
                -mean + k * loglam - std::lgamma(k + 1.0))
                return static_cast<std::int64_t>(k);
        }
    }

    /// Negative binomial with mean @p mean and inverse dispersion @p theta (variance
    /// mean + mean^2 / theta), as a gamma-Poisson mixture.
    std::int64_t negative_binomial(double mean, double theta) {
        if (!(mean > 0.0)) return 0;
        return poisson(mean * gamma(theta) / theta);
    }

private:
    struct SplitMixState {};
    Rng(SplitMixState, std::uint64_t sm) {
        for (auto& w : s_) w = splitmix64(sm);
    }
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
    double spare_ = 0.0;
    bool have_spare_ = false;
};

} // namespace scx
