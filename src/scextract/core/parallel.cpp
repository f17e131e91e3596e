#include "scextract/core/parallel.hpp"

#include <Eigen/Core>

#include <thread>

namespace scx {

int default_thread_count() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

namespace {

/// Eigen's products never start threads of their own. Eigen picks its GEMM blocking from the
/// number of threads it will use, and it uses them only outside a parallel region: the same
/// product inside a parallel_for chunk (threads >= 2) and on a one-thread team (threads 1)
/// would sum in different orders, so `fit --threads 1` and `--threads 2` gave different bits.
/// Threads come from parallel_for over rows instead, which never changes the arithmetic.
[[maybe_unused]] const bool kEigenSingleThreaded = [] {
    Eigen::setNbThreads(1);
    return true;
}();

} // namespace

} // namespace scx
