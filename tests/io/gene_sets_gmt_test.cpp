// GMT reading: sets as written by MSigDB / Enrichr, and a one-line error naming the file and
// line for every malformed line.
#include "scextract/core/error.hpp"
#include "scextract/io/gene_sets_gmt.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;

fs::path write_file(const std::string& name, const std::string& text) {
    const auto p = fs::temp_directory_path() / name;
    std::ofstream(p) << text;
    return p;
}

std::string error_of(const fs::path& p) {
    try {
        (void)scx::read_gmt(p.string());
    } catch (const scx::Error& e) {
        return e.what();
    }
    return "";
}

TEST(GeneSetsGmt, ReadsSetsSkipsBlankAndCommentLinesAndDropsDuplicateGenes) {
    const auto p = write_file("scx_gmt_ok.gmt", "# a comment\nT_CELL\thttp://x\tCD3E\tCD4\tCD3E\t\n\nB_CELL\t\tMS4A1\tCD19\r\n");
    const auto sets = scx::read_gmt(p.string());
    ASSERT_EQ(sets.size(), 2U);
    EXPECT_EQ(sets[0].name, "T_CELL");
    EXPECT_EQ(sets[0].description, "http://x");
    EXPECT_EQ(sets[0].genes, (std::vector<std::string>{"CD3E", "CD4"}));
    EXPECT_EQ(sets[1].genes, (std::vector<std::string>{"MS4A1", "CD19"}));
    EXPECT_EQ(sets[1].source, p.string());
}

TEST(GeneSetsGmt, MalformedLinesAreNamedWithFileAndLine) {
    const auto short_line = write_file("scx_gmt_short.gmt", "A\tdesc\tG1\nB desc G2 G3\n");
    const auto e1 = error_of(short_line);
    EXPECT_NE(e1.find(short_line.string() + ": line 2"), std::string::npos) << e1;
    EXPECT_NE(e1.find("tab-separated"), std::string::npos) << e1;
    const auto dup = write_file("scx_gmt_dup.gmt", "A\td\tG1\nA\td\tG2\n");
    EXPECT_NE(error_of(dup).find("'A' appears twice"), std::string::npos);
    const auto no_genes = write_file("scx_gmt_nogenes.gmt", "A\td\t\t\n");
    EXPECT_NE(error_of(no_genes).find("lists no gene"), std::string::npos);
    const auto no_name = write_file("scx_gmt_noname.gmt", "\td\tG1\n");
    EXPECT_NE(error_of(no_name).find("empty gene-set name"), std::string::npos);
    const auto empty = write_file("scx_gmt_empty.gmt", "# nothing\n\n");
    EXPECT_NE(error_of(empty).find("no gene set"), std::string::npos);
}

} // namespace
