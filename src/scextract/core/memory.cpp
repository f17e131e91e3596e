#include "scextract/core/memory.hpp"

#include "scextract/core/parallel.hpp"

#include <sys/resource.h>

#include <fstream>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace scx {

void populate_pages(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGE_SIZE));
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) / page * page;
    const auto end = reinterpret_cast<std::uintptr_t>(data) + bytes;
    if (page == 0 || end <= begin) return;
    constexpr std::int64_t piece = std::int64_t{8} << 20; // whole pages for any page size up to 8 MiB
    parallel_for(static_cast<std::int64_t>(end - begin), piece, 0, [&](std::int64_t, std::int64_t lo, std::int64_t hi) {
        // advisory: a kernel without MADV_POPULATE_WRITE (before 5.14) says EINVAL and the
        // pages fault in on first touch as usual
        ::madvise(reinterpret_cast<void*>(begin + static_cast<std::uintptr_t>(lo)), static_cast<std::size_t>(hi - lo),
                  MADV_POPULATE_WRITE);
    });
#else
    (void)data;
    (void)bytes;
#endif
}

double peak_resident_mb() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0; // "VmHWM:   1234 kB"
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

} // namespace scx
