// Label maps (--label-map): the file format with its errors named by file and line, the map
// taking precedence over the ruler's own synonyms, and the default ruler covering the label
// names of the common PBMC and marrow references (tests/io/reference_label_sets.tsv).

#include "scextract/io/label_map.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/ruler_json.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace {

using scx::test::error_of;
using scx::test::TempDir;
using scx::test::write_text_file;

TEST(LabelMap, ReadsRowsSkippingHeaderCommentsAndBlankLines) {
    TempDir dir;
    const auto path = (dir.path() / "map.tsv").string();
    write_text_file(path, "label\tstage\n# comment\n\nMy monocytes\tclassical_monocyte\r\nT-helper\tnaive_CD4_T\n"
                          "My monocytes\tclassical_monocyte\n");
    const auto m = scx::read_label_map(path);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].label, "My monocytes");
    EXPECT_EQ(m[0].stage, "classical_monocyte");
    EXPECT_EQ(m[0].line, 4);
    EXPECT_EQ(m[1].label, "T-helper");
}

TEST(LabelMap, MalformedFilesAreNamedByLine) {
    TempDir dir;
    const auto path = (dir.path() / "map.tsv").string();
    write_text_file(path, "a\tHSC\nb,MPP\n");
    EXPECT_EQ(error_of([&] { scx::read_label_map(path); }), path + ":2: expected 'label<TAB>stage', got 'b,MPP'");
    write_text_file(path, "a\tHSC\na\tMPP\n");
    EXPECT_EQ(error_of([&] { scx::read_label_map(path); }), path + ":2: label 'a' maps to 'MPP' here and to 'HSC' on line 1");
    write_text_file(path, "a\t\n");
    EXPECT_EQ(error_of([&] { scx::read_label_map(path); }), path + ":1: empty label or stage");
    write_text_file(path, std::string(5000, 'x') + "\tHSC\n");
    EXPECT_NE(error_of([&] { scx::read_label_map(path); }).find(path + ":1: a line of 5004 bytes"), std::string::npos);
    EXPECT_EQ(error_of([&] { scx::read_label_map((dir.path() / "absent.tsv").string()); }),
              (dir.path() / "absent.tsv").string() + ": cannot open the label map");
}

TEST(LabelMap, MappedLabelsWinOverTheRulersSynonyms) {
    TempDir dir;
    const auto path = (dir.path() / "map.tsv").string();
    auto ruler = scx::load_ruler("default");
    ASSERT_EQ(ruler.stages[ruler.stage_of_label("CD8 T cell")].name, "naive_CD8_T");
    ASSERT_LT(ruler.stage_of_label("Cluster 7 (mono)"), 0);
    write_text_file(path, "CD8 T cells\tmemory_CD8_T\nCluster 7 (mono)\tclassical_monocyte\n");
    scx::add_label_map(ruler, scx::read_label_map(path), path);
    EXPECT_EQ(ruler.stages[ruler.stage_of_label("CD8 T cell")].name, "memory_CD8_T"); // same normalised form
    EXPECT_EQ(ruler.stages[ruler.stage_of_label("Cluster 7 (mono)")].name, "classical_monocyte");
    const auto stages = scx::stages_of_labels(ruler, {"CD8 T cell", "Cluster 7 (mono)", "CD14+ Monocyte"});
    EXPECT_EQ(ruler.stages[stages[0]].name, "memory_CD8_T");
    EXPECT_EQ(ruler.stages[stages[2]].name, "classical_monocyte");
    EXPECT_TRUE(scx::check_ruler(ruler).ok);
}

TEST(LabelMap, UnknownStagesAreRefusedNamingTheLine) {
    TempDir dir;
    const auto path = (dir.path() / "map.tsv").string();
    write_text_file(path, "x\tHSC\ny\tmonocyte\n");
    const auto e = error_of([&] { scx::load_ruler_with_label_map("default", path); });
    EXPECT_NE(e.find(path + ":2: 'monocyte' is not a stage of the ruler 'human-hematopoiesis' (stages: HSC, MPP"),
              std::string::npos)
        << e;
    write_text_file(path, "HSC\tMPP\n");
    EXPECT_NE(error_of([&] { scx::load_ruler_with_label_map("default", path); }).find("is the name of a stage"),
              std::string::npos);
}

TEST(DefaultRuler, MapsTheLabelNamesOfTheCommonReferences) {
    // 10x / Zheng 2017 sorted PBMC, CHETAH, Azimuth PBMC level 2 and CellTypist Immune_All names
    std::ifstream in(std::string(SCX_SOURCE_DIR) + "/tests/io/reference_label_sets.tsv");
    ASSERT_TRUE(in) << "tests/io/reference_label_sets.tsv";
    const auto ruler = scx::load_ruler("default");
    std::string line;
    int checked = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto a = line.find('\t'), b = line.find('\t', a + 1);
        const auto set = line.substr(0, a), label = line.substr(a + 1, b - a - 1), expected = line.substr(b + 1);
        const auto s = ruler.stage_of_label(label);
        ASSERT_GE(s, 0) << set << ": '" << label << "' maps to no stage";
        EXPECT_EQ(ruler.stages[s].name, expected) << set << ": '" << label << "'";
        ++checked;
    }
    EXPECT_GE(checked, 90);
    EXPECT_TRUE(scx::check_ruler(ruler).ok);
}

} // namespace
