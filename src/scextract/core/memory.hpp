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

#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <unistd.h>

namespace scx {

/// Resizes @p v to @p n elements, asking the kernel for transparent huge pages
/// first when the buffer is large. Faulting in 4 KiB pages one at a time was
/// measured to cost about as much as decompressing the data itself for a
/// 1M-cell matrix (bench/h5ad_read); with huge pages it is a fraction of that.
/// A new buffer gets a quarter more capacity than asked, so a buffer reused for blocks of
/// similar size (streamed reads) is allocated once, not whenever a block is a little larger.
/// Capacity never written is never faulted in, so it costs address space, not memory.
template <class T> void resize_for_bulk_read(std::vector<T>& v, std::size_t n) {
    constexpr std::size_t huge = std::size_t{1} << 21;
    if (n * sizeof(T) >= 4 * huge && v.capacity() < n) {
        v.clear();
        v.shrink_to_fit();
        v.reserve(n + n / 4);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
        const auto aligned = (begin + huge - 1) & ~static_cast<std::uintptr_t>(huge - 1);
        const auto end = begin + n * sizeof(T);
        if (end > aligned) ::madvise(reinterpret_cast<void*>(aligned), end - aligned, MADV_HUGEPAGE); // advisory only
#endif
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
