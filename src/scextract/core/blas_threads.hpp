#pragma once
/// @file blas_threads.hpp
/// @brief Runs OpenBLAS on one thread for one scope, where scextract parallelises around it.
///
/// Multithreaded BLAS does not promise the same bits for every thread count; scextract's
/// callers split the work into fixed pieces themselves and call BLAS once per piece. The
/// OpenBLAS entry points are weak, so a program linked against another BLAS (or none) still
/// links, and that BLAS's threading is left alone.

extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace scx {

/// OpenBLAS at one thread for the lifetime of the object; the previous count comes back after.
class SingleThreadedBlas {
public:
    SingleThreadedBlas() {
        if (openblas_get_num_threads != nullptr && openblas_set_num_threads != nullptr) {
            previous_ = openblas_get_num_threads();
            if (previous_ != 1) openblas_set_num_threads(1);
        }
    }
    ~SingleThreadedBlas() {
        if (previous_ > 1) openblas_set_num_threads(previous_);
    }
    SingleThreadedBlas(const SingleThreadedBlas&) = delete;
    SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

private:
    int previous_ = -1;
};

} // namespace scx
