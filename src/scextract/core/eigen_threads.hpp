#pragma once
/// @file eigen_threads.hpp
/// @brief Sets the number of threads Eigen's matrix products use, for one scope.
///
/// Eigen parallelises its products with OpenMP. Minibatch training (the MLP probe, scVI)
/// multiplies many small matrices, where a thread team costs more than it saves, and far
/// more when the cores are busy: one thread is then both faster and steadier.

#include <Eigen/Core>

namespace scx {

/// Restores the previous count when it goes out of scope.
class ScopedEigenThreads {
public:
    explicit ScopedEigenThreads(int threads) : previous_(Eigen::nbThreads()) { Eigen::setNbThreads(threads); }
    ~ScopedEigenThreads() { Eigen::setNbThreads(previous_); }
    ScopedEigenThreads(const ScopedEigenThreads&) = delete;
    ScopedEigenThreads& operator=(const ScopedEigenThreads&) = delete;

private:
    int previous_;
};

} // namespace scx
