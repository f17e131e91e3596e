#include "scextract/io/live_temporaries.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace scx {

namespace {

constexpr std::size_t kMaxPath = 4096;

/// state: 0 free, 1 being filled or emptied, 2 live (the handler reads only live slots)
struct Slot {
    std::atomic<int> state{0};
    bool is_directory = false;
    char path[kMaxPath] = {};
};

Slot g_slots[kMaxLiveTemporaries];

constexpr int kMaxDepth = 4; // our output folders nest at most one level (bench's checkpoint/)

/// Empties the folder open as @p fd: files unlinked, subfolders emptied (to kMaxDepth) and
/// removed, with raw system calls only.
void empty_directory(int fd, int depth) noexcept {
    alignas(8) char buf[2048];
    for (;;) {
        const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[]
            unsigned short reclen = 0;
            std::memcpy(&reclen, buf + off + 16, sizeof reclen);
            const unsigned char type = static_cast<unsigned char>(buf[off + 18]);
            const char* name = buf + off + 19;
            if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) {
                if (type == DT_DIR) {
                    if (depth < kMaxDepth) {
                        const int sub = ::openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0) {
                            empty_directory(sub, depth + 1);
                            ::close(sub);
                        }
                    }
                    ::unlinkat(fd, name, AT_REMOVEDIR);
                } else {
                    ::unlinkat(fd, name, 0);
                }
            }
            if (reclen == 0) break;
            off += reclen;
        }
    }
}

/// Empties @p path and removes it.
void remove_directory(const char* path) noexcept {
    const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        empty_directory(fd, 1);
        ::close(fd);
    }
    ::rmdir(path);
}

extern "C" void on_terminating_signal(int sig) {
    const int saved = errno;
    remove_live_temporaries();
    errno = saved;
    ::signal(sig, SIG_DFL);
    ::raise(sig); // delivered on return: the default action ends the process by this signal
}

} // namespace

int register_live_temporary(const std::filesystem::path& path, bool is_directory) noexcept {
    const auto& s = path.native();
    if (s.size() + 1 > kMaxPath) return -1;
    for (int i = 0; i < kMaxLiveTemporaries; ++i) {
        int expected = 0;
        if (!g_slots[i].state.compare_exchange_strong(expected, 1)) continue;
        std::memcpy(g_slots[i].path, s.c_str(), s.size() + 1);
        g_slots[i].is_directory = is_directory;
        g_slots[i].state.store(2);
        return i;
    }
    return -1;
}

void unregister_live_temporary(int slot) noexcept {
    if (slot < 0 || slot >= kMaxLiveTemporaries) return;
    g_slots[slot].state.store(0);
}

void unregister_live_temporary(const std::filesystem::path& path) noexcept {
    for (auto& slot : g_slots)
        if (slot.state.load() == 2 && path.native() == slot.path) {
            slot.state.store(0);
            return;
        }
}

void remove_live_temporaries() noexcept {
    for (auto& slot : g_slots) {
        if (slot.state.load() != 2) continue;
        if (slot.is_directory) remove_directory(slot.path);
        else ::unlink(slot.path);
    }
}

void remove_live_temporaries_on_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_terminating_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    for (const int sig : {SIGINT, SIGTERM}) {
        struct sigaction old {};
        // a signal ignored by the parent (nohup, background shells) stays ignored
        if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        ::sigaction(sig, &sa, nullptr);
    }
}

} // namespace scx
