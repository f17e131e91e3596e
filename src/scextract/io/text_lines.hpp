#pragma once
/// @file text_lines.hpp
/// @brief Line-by-line reading of plain or gzip-compressed text files (10x, CSV).

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scx {

/// Longest line TextLines accepts (16 MiB). No text input of ours (10x MTX and TSVs, CSV
/// counts, GMT gene sets, ligand-receptor TSVs, label maps) comes near it: a CSV row of 60,000 genes' counts is
/// well under 1 MiB. A longer line is refused before it is buffered, so a small gzip file
/// holding one multi-GiB line cannot exhaust memory.
inline constexpr std::size_t kMaxTextLineBytes = std::size_t{16} << 20;

/// Lines of a plain or gzip-compressed text file (zlib reads both), without the
/// line terminator ("\n" or "\r\n"). Views stay valid until the next call.
/// A truncated gzip stream is an error naming the file; so is a line longer than
/// kMaxTextLineBytes ("FILE: line N is longer than 16 MiB ...").
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
    [[noreturn]] void too_long() const;

    std::string path_;
    gzFile file_ = nullptr;
    std::vector<char> buf_;
    std::size_t pos_ = 0, end_ = 0;
    bool eof_ = false;
    std::int64_t line_no_ = 0;
};

} // namespace scx
