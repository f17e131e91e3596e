#include "scextract/report/min_attainable_p.hpp"

#include <cmath>

namespace scx::report {

double min_attainable_wilcoxon_p(std::int64_t n) {
    if (n <= 1) return 1.0;
    if (n <= 50) return std::ldexp(1.0, static_cast<int>(1 - n)); // 2 / 2^n
    const auto m = static_cast<double>(n);
    const double z = std::sqrt(3 * m * (m + 1) / (2 * (2 * m + 1)));
    return std::erfc(z / std::sqrt(2.0));
}

} // namespace scx::report
