#pragma once
/// @file progress.hpp
/// @brief Progress reporting for long work, decoupled from the terminal.
///
/// Library functions take a ProgressCallback; the CLI supplies one that draws a
/// bar on stderr only when stderr is a TTY and --quiet is off.

#include <cstdint>
#include <functional>
#include <string>

namespace scx {

/// Called with (units done, units total). Must be cheap; may be empty.
using ProgressCallback = std::function<void(std::int64_t done, std::int64_t total)>;

/// A text progress bar on stderr. Draws nothing unless enabled; redraws at most
/// every 1% so it costs nothing on hot loops.
class ProgressBar {
public:
    ProgressBar(std::string label, bool enabled);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void update(std::int64_t done, std::int64_t total);
    void finish();
    /// A callback that forwards to update(); valid while this bar lives.
    ProgressCallback callback();

private:
    std::string label_;
    bool enabled_;
    int last_permille_ = -1;
    bool drawn_ = false;
};

/// True when stderr is an interactive terminal.
bool stderr_is_tty();

} // namespace scx
