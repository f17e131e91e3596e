// Dense counts tables (.csv / .tsv, optionally gzipped), written by the tests themselves.

#include "scextract/io/csv_counts.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

using scx::test::error_of;
using scx::test::TempDir;
using scx::test::write_gz_file;
using scx::test::write_text_file;

using Names = std::vector<std::string>;

TEST(CsvCounts, ReadsCsvWithEmptyCornerAndQuotes) {
    TempDir tmp;
    // As R's write.csv writes it: quoted names, empty corner cell.
    const auto path = write_text_file(tmp / "counts.csv", "\"\",\"CD3E\",\"MS4A1\",\"HLA-DRA, x\",\"say \"\"hi\"\"\"\n"
                                                          "\"cell1\",0,3,1.5,0\n"
                                                          "\"cell2\",2,0,0,1e2\n"
                                                          "cell3,0,0,0,0\n");
    const auto d = scx::read_csv_counts(path.string());
    EXPECT_EQ(d.format, "csv");
    EXPECT_EQ(d.matrix_source, "counts.csv");
    EXPECT_EQ(d.obs_names, (Names{"cell1", "cell2", "cell3"}));
    EXPECT_EQ(d.obs.index, d.obs_names);
    EXPECT_EQ(d.var_names, (Names{"CD3E", "MS4A1", "HLA-DRA, x", "say \"hi\""}));
    EXPECT_EQ(d.var.index, d.var_names);
    EXPECT_EQ(d.matrix.n_rows, 3);
    EXPECT_EQ(d.matrix.n_cols, 4);
    EXPECT_NO_THROW(d.matrix.validate("test"));
    EXPECT_EQ(d.matrix.nnz(), 4); // zeros are not stored
    EXPECT_EQ(scx::to_dense(d.matrix), (std::vector<float>{0, 3, 1.5F, 0, 2, 0, 0, 100, 0, 0, 0, 0}));
}

TEST(CsvCounts, ReadsGzippedTsvWithNamedCorner) {
    TempDir tmp;
    const auto path = write_gz_file(tmp / "counts.TSV.gz", "cell\tg1\tg2\nc1\t1\t0\nc2\t0\t-4\n");
    const auto d = scx::read_csv_counts(path.string());
    EXPECT_EQ(d.matrix_source, "counts.TSV.gz");
    EXPECT_EQ(d.var_names, (Names{"g1", "g2"}));
    EXPECT_EQ(scx::to_dense(d.matrix), (std::vector<float>{1, 0, 0, -4}));
}

TEST(CsvCounts, AcceptsHeaderWithoutCornerCell) {
    TempDir tmp;
    // R's write.table(sep = "\t") leaves the corner out.
    const auto path = write_text_file(tmp / "counts.tsv", "g1\tg2\tg3\nc1\t1\t2\t3\n");
    const auto d = scx::read_csv_counts(path.string());
    EXPECT_EQ(d.var_names, (Names{"g1", "g2", "g3"}));
    EXPECT_EQ(scx::to_dense(d.matrix), (std::vector<float>{1, 2, 3}));
}

TEST(CsvCounts, HandlesCrlfBlankLinesAndByteOrderMark) {
    TempDir tmp;
    const auto path = write_text_file(tmp / "excel.csv", "\xEF\xBB\xBF,g1,g2\r\nc1, 1 ,+2\r\n\r\nc2,0,0\r\n\r\n");
    const auto d = scx::read_csv_counts(path.string());
    EXPECT_EQ(d.var_names, (Names{"g1", "g2"}));
    EXPECT_EQ(d.obs_names, (Names{"c1", "c2"}));
    EXPECT_EQ(scx::to_dense(d.matrix), (std::vector<float>{1, 2, 0, 0}));
}

TEST(CsvCounts, HeaderOnlyGivesNoCells) {
    TempDir tmp;
    const auto d = scx::read_csv_counts(write_text_file(tmp / "empty.csv", ",g1,g2\n").string());
    EXPECT_EQ(d.matrix.n_rows, 0);
    EXPECT_EQ(d.matrix.n_cols, 2);
    EXPECT_NO_THROW(d.matrix.validate("test"));
}

struct BadTable {
    const char* label;
    const char* name;
    std::string text;
    const char* expected; ///< fragment after "<path>: "
};

// Names the case in test output (gtest would otherwise dump the struct's raw bytes).
void PrintTo(const BadTable& b, std::ostream* os) {
    *os << b.label;
}

class CsvCountsBadTable : public ::testing::TestWithParam<BadTable> {};

TEST_P(CsvCountsBadTable, ErrorNamesFileLineAndColumn) {
    TempDir tmp;
    const auto path = write_text_file(tmp / GetParam().name, GetParam().text);
    const auto msg = error_of([&] { scx::read_csv_counts(path.string()); });
    EXPECT_NE(msg.find(path.string() + ": " + GetParam().expected), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    CsvCounts, CsvCountsBadTable,
    ::testing::Values(
        BadTable{"bad_number", "a.csv", ",g1,g2\nc1,1,2\nc2,3,abc\n",
                 "line 3, column 3: 'abc' is not a number (gene 'g2')"},
        BadTable{"empty_value", "a.csv", ",g1,g2\nc1,,2\n", "line 2, column 2: '' is not a number (gene 'g1')"},
        BadTable{"not_finite", "a.tsv", "\tg1\nc1\tnan\n", "line 2, column 2: 'nan' is not a finite count"},
        BadTable{"short_row", "a.csv", ",g1,g2\nc1,1,2\nc2,3\n", "line 3: 2 fields, expected 3"},
        BadTable{"long_row", "a.csv", ",g1,g2\nc1,1,2\nc2,3,4,5\n", "line 3: 4 fields, expected 3"},
        BadTable{"header_mismatch", "a.csv", ",g1,g2,g3,g4\nc1,1,2\n",
                 "line 2: 3 fields, but the header (line 1) has 5"},
        BadTable{"open_quote", "a.csv", ",g1\n\"c1,1\n", "line 2, column 1: quote is not closed"},
        BadTable{"empty_file", "a.csv", "\n\n", "empty file"},
        BadTable{"unknown_extension", "a.txt", ",g1\nc1,1\n", "cannot tell the separator"},
        BadTable{"semicolons", "a.csv", "cell;g1;g2\nc1;1;2\n",
                 "line 1: the header has one field when read as ,-separated (it looks ;-separated"},
        BadTable{"tabs_in_csv", "a.csv", "cell\tg1\nc1\t1\n", "line 1: the header has one field when read as ,-separated (it looks tab-separated"},
        BadTable{"one_column", "a.tsv", "cell\nc1\n", "line 1: the header has one field when read as tab-separated; expected"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(CsvCounts, MissingFileIsNamed) {
    TempDir tmp;
    const auto path = tmp / "absent.csv";
    const auto msg = error_of([&] { scx::read_csv_counts(path.string()); });
    EXPECT_NE(msg.find(path.string() + ": no such file"), std::string::npos) << msg;
}

TEST(CsvCounts, TruncatedGzipIsAnError) {
    TempDir tmp;
    std::string text = ",g1,g2\n";
    for (int i = 0; i < 2000; ++i) text += "cell" + std::to_string(i) + "," + std::to_string(i % 7) + ",1\n";
    const auto path = write_gz_file(tmp / "big.csv.gz", text);
    fs::resize_file(path, fs::file_size(path) / 2);
    const auto msg = error_of([&] { scx::read_csv_counts(path.string()); });
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
}

} // namespace
