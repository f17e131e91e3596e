#include "scextract/io/text_lines.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace scx {

// 64 KiB to start (grown for longer lines): tables are read in many small files (10x folders,
// label maps), and zero-filling a larger buffer for each was most of the work for small ones
TextLines::TextLines(std::string path) : path_(std::move(path)), buf_(std::size_t{1} << 16) {
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (!file_) throw Error(fmt::format("{}: cannot open ({})", path_, errno ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_, 1U << 18);
}

TextLines::~TextLines() { gzclose(file_); }

bool TextLines::next(std::string_view& line) {
    for (;;) {
        if (const void* nl = std::memchr(buf_.data() + pos_, '\n', end_ - pos_)) {
            const auto stop = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
            if (stop - pos_ > kMaxTextLineBytes) too_long();
            line = view(pos_, stop);
            pos_ = stop + 1;
            ++line_no_;
            return true;
        }
        if (end_ - pos_ > kMaxTextLineBytes) too_long();
        if (eof_) {
            if (pos_ == end_) return false;
            line = view(pos_, end_); // last line without a newline
            pos_ = end_;
            ++line_no_;
            return true;
        }
        refill();
    }
}

void TextLines::too_long() const {
    throw Error(fmt::format("{}: line {} is longer than {} MiB (damaged file, or not a text table?)", path_, line_no_ + 1,
                            kMaxTextLineBytes >> 20));
}

std::string_view TextLines::view(std::size_t a, std::size_t b) const {
    if (b > a && buf_[b - 1] == '\r') --b;
    return {buf_.data() + a, b - a};
}

void TextLines::refill() {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_); // keep the partial line
    end_ -= pos_;
    pos_ = 0;
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2); // a line longer than the buffer
    const auto want = static_cast<unsigned>(std::min<std::size_t>(buf_.size() - end_, 1U << 30));
    const int got = gzread(file_, buf_.data() + end_, want);
    int err = Z_OK;
    if (got < 0) throw Error(fmt::format("{}: read failed ({})", path_, gzerror(file_, &err)));
    if (got == 0) {
        // zlib reports a truncated stream only through gzerror once the data runs out.
        const char* msg = gzerror(file_, &err);
        if (err != Z_OK) throw Error(fmt::format("{}: {} (is the gzip file truncated or damaged?)", path_, msg));
        eof_ = true;
    }
    end_ += static_cast<std::size_t>(got);
}

} // namespace scx
