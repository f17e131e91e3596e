#pragma once
/// @file memory.hpp
/// @brief Allocation of large buffers that are about to be filled from disk.

#include "scextract/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

namespace scx {

/// Faults in the pages of [@p data, @p data + @p bytes) for writing, on every thread
/// (MADV_POPULATE_WRITE; nothing where the kernel lacks it). The pages come zeroed by the
/// kernel, as they would on first touch, but the page faults, the slow part of filling a
/// fresh buffer, run in parallel instead of in the one thread that writes first.
void populate_pages(void* data, std::size_t bytes);

/// This process's peak resident memory in MB since it started its program: VmHWM of
/// /proc/self/status. (getrusage's ru_maxrss is not that on Linux: it keeps the memory the
/// parent had when it forked, so a child of a 1 GB Python process reports at least 1 GB.)
/// ru_maxrss where /proc is absent.
double peak_resident_mb();

/// Resizes @p v to @p n elements, faulting in a large new buffer on every thread first
/// (populate_pages()). A new buffer gets a quarter more capacity than asked, so a buffer
/// reused for blocks of similar size (streamed reads) is allocated once, not whenever a
/// block is a little larger. Capacity never written is never faulted in, so it costs
/// address space, not memory.
///
/// No transparent huge pages are asked for: on the benchmark machine (a VM whose host backs
/// memory lazily) first-touching fresh 2 MiB pages was measured at 0.47 GB/s against
/// 2.4 GB/s for 4 KiB pages (docs/benchmarks.md, issue 21); where THP is set to "always"
/// the kernel gives them anyway.
template <class T> void resize_for_bulk_read(std::vector<T>& v, std::size_t n) {
    constexpr std::size_t large = std::size_t{8} << 20;
    if (n * sizeof(T) >= large && v.capacity() < n) {
        v.clear();
        v.shrink_to_fit();
        v.reserve(n + n / 4);
        populate_pages(v.data(), n * sizeof(T));
    }
    v.resize(n);
}

/// Physical memory of this machine in bytes (sysconf); 0 when it cannot be told.
inline std::uint64_t physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) : 0;
}

/// @p count elements of @p elem_size bytes, saturating instead of wrapping (sizes come from files).
inline std::uint64_t checked_bytes(std::uint64_t count, std::uint64_t elem_size) {
    std::uint64_t out = 0;
    return __builtin_mul_overflow(count, elem_size, &out) ? UINT64_MAX : out;
}

/// Throws "WHAT would need N GB in memory, more than this machine's M GB" before a buffer of
/// @p bytes is allocated for a size declared by an input, so a hostile or damaged header
/// gives one line naming the file instead of std::bad_alloc or the OOM killer.
inline void check_fits_in_memory(std::uint64_t bytes, std::string_view what) {
    const auto phys = physical_memory_bytes();
    if (phys == 0 || bytes <= phys) return;
    throw Error(fmt::format("{} would need {:.1f} GB in memory, more than this machine's {:.1f} GB", what,
                            static_cast<double>(bytes) / 1e9, static_cast<double>(phys) / 1e9));
}

} // namespace scx
