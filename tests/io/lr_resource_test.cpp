#include "scextract/io/lr_resource.hpp"

#include "scextract/core/error.hpp"

#include "../support/error_of.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

namespace scx {
namespace {

using test::error_of;

TEST(LrResource, ParsesColumnsComplexesCommentsAndDuplicates) {
    const auto r = parse_lr_resource("# made by hand\n\nsource\tligand\treceptor\nx\tCXCL12\tCXCR4\r\ny\tTGFB1\tTGFBR1_TGFBR2\nz\tCXCL12\tCXCR4\n",
                                     "t.tsv");
    ASSERT_EQ(r.pairs.size(), 2u);
    EXPECT_EQ(r.duplicates, 1);
    EXPECT_EQ(r.pairs[0].ligand, "CXCL12");
    EXPECT_EQ(r.pairs[0].receptor, "CXCR4"); // the CR of a CRLF line is not part of the name
    EXPECT_EQ(r.pairs[1].receptor_genes, (std::vector<std::string>{"TGFBR1", "TGFBR2"}));
}

TEST(LrResource, MalformedInputIsRefusedWithFileAndLine) {
    EXPECT_NE(error_of([] { parse_lr_resource("ligand\tpartner\nA\tB\n", "t.tsv"); }).find("t.tsv: line 1: the header names no 'receptor' column"),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_lr_resource("ligand\treceptor\nA\tB\nC\n", "t.tsv"); }).find("t.tsv: line 3: 1 tab-separated fields, the header has 2"),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_lr_resource("ligand\treceptor\n\tB\n", "t.tsv"); }).find("line 2: empty ligand"), std::string::npos);
    EXPECT_NE(error_of([] { parse_lr_resource("ligand\treceptor\nA\tB__C\n", "t.tsv"); }).find("line 2: empty subunit in 'B__C'"),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_lr_resource("ligand\treceptor\n", "t.tsv"); }).find("no ligand-receptor pairs"), std::string::npos);
    EXPECT_NE(error_of([] { parse_lr_resource("# only a comment\n", "t.tsv"); }).find("no header line"), std::string::npos);
}

TEST(LrResource, ReadsTheShippedResource) {
    const auto r = read_lr_resource(std::string(SCX_SOURCE_DIR) + "/data/lr/cellphonedb_v4_human.tsv");
    EXPECT_EQ(r.pairs.size(), 1677u); // scripts/make_lr_resource.py printed this count
    EXPECT_EQ(r.pairs.front().ligand, "PTGR1");
    EXPECT_EQ(r.pairs.front().receptor, "LTB4R");
}

TEST(LrResource, MissingFileIsAnError) {
    EXPECT_THROW(read_lr_resource("/nonexistent/lr.tsv"), std::exception);
}

} // namespace
} // namespace scx
