#pragma once
/// @file live_temporaries.hpp
/// @brief The temporary files and folders of outputs still being written, kept where a
/// signal handler can reach them, so SIGINT/SIGTERM leave no `.NAME.tmp-PID` behind.
///
/// A fixed table of kMaxLiveTemporaries paths (no allocation after registration); a path
/// that finds the table full is still removed by its owner's destructor, only not on a
/// signal. remove_live_temporaries() is async-signal-safe.

#include <filesystem>

namespace scx {

inline constexpr int kMaxLiveTemporaries = 64;

/// Registers @p path (a file, or a folder removed with what it holds when @p is_directory);
/// returns its slot, or -1 when the table is full or the path too long.
int register_live_temporary(const std::filesystem::path& path, bool is_directory) noexcept;

/// Forgets slot @p slot (a no-op for -1); call after the path was renamed or removed.
void unregister_live_temporary(int slot) noexcept;

/// Forgets the slot holding @p path, if any (for owners that keep the path, not the slot).
void unregister_live_temporary(const std::filesystem::path& path) noexcept;

/// Removes every registered path (files unlinked; folders emptied, then removed).
/// Async-signal-safe: only open/getdents64/unlinkat/unlink/rmdir/close.
void remove_live_temporaries() noexcept;

/// Installs SIGINT and SIGTERM handlers that remove the live temporaries, then re-raise
/// the signal with its default action (so the exit status says which signal ended it).
void remove_live_temporaries_on_signals();

/// Registers a folder for the duration of a scope.
class LiveTemporaryDir {
public:
    explicit LiveTemporaryDir(const std::filesystem::path& dir) noexcept : slot_(register_live_temporary(dir, true)) {}
    ~LiveTemporaryDir() { unregister_live_temporary(slot_); }
    LiveTemporaryDir(const LiveTemporaryDir&) = delete;
    LiveTemporaryDir& operator=(const LiveTemporaryDir&) = delete;

private:
    int slot_;
};

} // namespace scx
