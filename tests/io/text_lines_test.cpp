// Line-length cap of the text readers (issue 23, item 1): a gzip file holding one huge line
// (a few KiB compressed) is refused before the line is buffered. The streams are generated here.
#include "scextract/core/error.hpp"
#include "scextract/io/csv_counts.hpp"
#include "scextract/io/label_map.hpp"
#include "scextract/io/tenx.hpp"
#include "scextract/io/text_lines.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <string>

namespace scx {
namespace {

using test::error_of;
using test::TempDir;
using test::write_gz_file;
using test::write_text_file;

/// Writes @p head, then @p long_bytes of 'x' with no newline, then @p tail, gzip-compressed
/// in 1 MiB pieces (the long line is never held in memory here).
std::filesystem::path write_long_line_gz(const std::filesystem::path& p, const std::string& head, std::size_t long_bytes,
                                         const std::string& tail = "\n") {
    gzFile f = gzopen(p.c_str(), "wb9");
    EXPECT_NE(f, nullptr) << p;
    gzwrite(f, head.data(), static_cast<unsigned>(head.size()));
    const std::string piece(std::size_t{1} << 20, 'x');
    for (std::size_t done = 0; done < long_bytes; done += piece.size())
        gzwrite(f, piece.data(), static_cast<unsigned>(std::min(piece.size(), long_bytes - done)));
    gzwrite(f, tail.data(), static_cast<unsigned>(tail.size()));
    gzclose(f);
    return p;
}

constexpr std::size_t kLong = std::size_t{32} << 20; // twice the cap

TEST(TextLines, GzipLineLongerThanTheCapIsRefused) {
    TempDir dir;
    const auto p = write_long_line_gz(dir / "t.txt.gz", "short\n", kLong);
    EXPECT_LT(std::filesystem::file_size(p), 100U << 10); // 32 MiB of line in under 100 KiB of gzip
    TextLines lines(p.string());
    std::string_view line;
    ASSERT_TRUE(lines.next(line));
    EXPECT_EQ(line, "short");
    const auto msg = error_of([&] { lines.next(line); });
    EXPECT_EQ(msg, p.string() + ": line 2 is longer than 16 MiB (damaged file, or not a text table?)");
}

TEST(TextLines, LineLongerThanTheCapEndingInANewlineIsRefused) {
    // The newline arrives after the cap: the line must not slip through once it is buffered whole.
    TempDir dir;
    const auto p = write_long_line_gz(dir / "t.txt.gz", "", kMaxTextLineBytes + 1000, "\nnext\n");
    TextLines lines(p.string());
    std::string_view line;
    EXPECT_NE(error_of([&] { lines.next(line); }).find(": line 1 is longer than 16 MiB"), std::string::npos);
}

TEST(TextLines, LineOfExactlyTheCapIsRead) {
    TempDir dir;
    const auto p = write_long_line_gz(dir / "t.txt.gz", "", kMaxTextLineBytes, "\nnext");
    TextLines lines(p.string());
    std::string_view line;
    ASSERT_TRUE(lines.next(line));
    EXPECT_EQ(line.size(), kMaxTextLineBytes);
    ASSERT_TRUE(lines.next(line));
    EXPECT_EQ(line, "next");
    EXPECT_FALSE(lines.next(line));
}

TEST(TextLines, CsvCountsWithAHugeGzipLineNameTheFile) {
    TempDir dir;
    const auto p = write_long_line_gz(dir / "counts.csv.gz", "", kLong);
    const auto msg = error_of([&] { read_csv_counts(p.string()); });
    EXPECT_EQ(msg, p.string() + ": line 1 is longer than 16 MiB (damaged file, or not a text table?)");
}

TEST(TextLines, TenxMtxWithAHugeGzipLineNameTheFile) {
    TempDir dir;
    const auto folder = dir / "tenx";
    std::filesystem::create_directories(folder);
    write_gz_file(folder / "features.tsv.gz", "ENSG1\tA\tGene Expression\n");
    write_gz_file(folder / "barcodes.tsv.gz", "c1\n");
    const auto m = write_long_line_gz(folder / "matrix.mtx.gz", "%%MatrixMarket matrix coordinate integer general\n%", kLong,
                                      "\n1 1 1\n1 1 1\n");
    const auto msg = error_of([&] { read_10x_mtx(folder.string()); });
    EXPECT_EQ(msg, m.string() + ": line 2 is longer than 16 MiB (damaged file, or not a text table?)");
}

TEST(TextLines, LabelMapWithAHugeLineIsRefusedUnbuffered) {
    TempDir dir;
    const auto p = write_long_line_gz(dir / "map.tsv", "label\tstage\n", kLong); // gzip content, any name
    const auto msg = error_of([&] { read_label_map(p.string()); });
    EXPECT_EQ(msg, p.string() + ": line 2 is longer than 16 MiB (damaged file, or not a text table?)");
}

} // namespace
} // namespace scx
