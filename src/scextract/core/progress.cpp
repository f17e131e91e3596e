#include "scextract/core/progress.hpp"

#include <cstdio>
#include <unistd.h>

namespace scx {

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::int64_t done, std::int64_t total) {
    if (!enabled_ || total <= 0) return;
    const int permille = static_cast<int>(1000 * std::min(done, total) / total);
    if (permille / 10 == last_permille_ / 10 && drawn_) return;
    last_permille_ = permille;
    drawn_ = true;
    constexpr int width = 30;
    const int filled = permille * width / 1000;
    std::fprintf(stderr, "\r%s [", label_.c_str());
    for (int i = 0; i < width; ++i) std::fputc(i < filled ? '#' : '.', stderr);
    std::fprintf(stderr, "] %3d%% (%lld/%lld)", permille / 10, static_cast<long long>(done),
                 static_cast<long long>(total));
    std::fflush(stderr);
}

void ProgressBar::finish() {
    if (enabled_ && drawn_) {
        std::fputc('\n', stderr);
        drawn_ = false;
    }
}

ProgressCallback ProgressBar::callback() {
    return [this](std::int64_t done, std::int64_t total) { update(done, total); };
}

} // namespace scx
