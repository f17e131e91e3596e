#pragma once
/// @file text_lines.hpp
/// @brief Line-by-line reading of plain or gzip-compressed text files (10x, CSV).

#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scx {

/// Lines of a plain or gzip-compressed text file (zlib reads both), without the
/// line terminator ("\n" or "\r\n"). Views stay valid until the next call.
/// A truncated gzip stream is an error naming the file.
class TextLines {
public:
    explicit TextLines(std::string path);
    TextLines(const TextLines&) = delete;
    TextLines& operator=(const TextLines&) = delete;
    ~TextLines();

    /// Next line into @p line; false at the end of the file.
    bool next(std::string_view& line);
    /// 1-based number of the line last returned.
    [[nodiscard]] std::int64_t line_number() const { return line_no_; }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string_view view(std::size_t a, std::size_t b) const;
    void refill();

    std::string path_;
    gzFile file_ = nullptr;
    std::vector<char> buf_;
    std::size_t pos_ = 0, end_ = 0;
    bool eof_ = false;
    std::int64_t line_no_ = 0;
};

} // namespace scx
