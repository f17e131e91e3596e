#pragma once
/// @file parallel.hpp
/// @brief The one parallel loop of scextract.
///
/// Work over [0, n) is cut into fixed-size chunks that do not depend on the
/// thread count; callers that reduce do so per chunk and then combine the chunk
/// results in chunk order, so 1 thread and 16 threads give the same bits.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>

namespace scx {

/// Threads used when the caller asks for "all": the hardware concurrency.
int default_thread_count();

/// Number of chunks of size @p chunk covering [0, n).
inline std::int64_t chunk_count(std::int64_t n, std::int64_t chunk) { return n <= 0 ? 0 : (n + chunk - 1) / chunk; }

/// Calls fn(chunk_index, begin, end) for each chunk of [0, n), on up to
/// @p threads threads (<= 0 means all available). The first exception thrown
/// by any chunk is rethrown on the calling thread after all threads finish.
template <class Fn>
void parallel_for(std::int64_t n, std::int64_t chunk, int threads, Fn&& fn) {
    const std::int64_t n_chunks = chunk_count(n, chunk);
    std::exception_ptr error;
    std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads > 0 ? threads : default_thread_count())
    for (std::int64_t c = 0; c < n_chunks; ++c) {
        try {
            const std::int64_t begin = c * chunk;
            fn(c, begin, std::min(n, begin + chunk));
        } catch (...) {
            std::lock_guard lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

} // namespace scx
