#pragma once
/// @file memory.hpp
/// @brief Allocation of large buffers that are about to be filled from disk.

#include <cstddef>
#include <cstdint>
#include <vector>

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

/// This machine's physical memory in bytes, or 0 when unknown: the bound for sizes an input
/// declares ("would need N GB, more than this machine's M GB"), checked before allocating.
inline double physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

} // namespace scx
