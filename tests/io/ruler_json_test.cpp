// Ruler files: round trips, every malformed input named by file and JSON path, and the
// default hematopoiesis ruler (its shape, depths, and the labels of the shared datasets).

#include "scextract/io/ruler_json.hpp"

#include "scextract/core/ruler.hpp"
#include "scextract/io/h5ad_reader.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using scx::test::error_of;
using scx::test::TempDir;
using scx::test::write_text_file;

std::string file_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

scx::Ruler toy_ruler() {
    scx::Ruler r;
    r.name = "toy";
    r.description = "three stages";
    r.sources = {"nobody 2024"};
    r.branches = {"stem", "x", "y"};
    r.stages = {{"root", 0, "stem", "the root"}, {"a", 1, "x", ""}, {"b", 1, "y", "b stage"}};
    r.edges = {{0, 1}, {2, 0}};
    r.labels = {{"Zeta cells", 2}, {"Alpha", 1}, {"CD14+ thing", 1}}; // not sorted: order must survive
    r.root = "root";
    return r;
}

void expect_same(const scx::Ruler& a, const scx::Ruler& b) {
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.description, b.description);
    EXPECT_EQ(a.sources, b.sources);
    EXPECT_EQ(a.branches, b.branches);
    ASSERT_EQ(a.stages.size(), b.stages.size());
    for (std::size_t i = 0; i < a.stages.size(); ++i) {
        EXPECT_EQ(a.stages[i].name, b.stages[i].name);
        EXPECT_EQ(a.stages[i].depth, b.stages[i].depth);
        EXPECT_EQ(a.stages[i].branch, b.stages[i].branch);
        EXPECT_EQ(a.stages[i].description, b.stages[i].description);
    }
    EXPECT_EQ(a.edges, b.edges);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.root, b.root);
    ASSERT_EQ(a.explicit_distances.has_value(), b.explicit_distances.has_value());
    if (a.explicit_distances) {
        EXPECT_EQ(*a.explicit_distances, *b.explicit_distances);
    }
}

const char* kToyJson = R"({
  "format": "scextract-ruler", "version": 1, "name": "toy", "root": "root",
  "branches": ["stem", "x"],
  "stages": [{"name": "root", "depth": 0, "branch": "stem"}, {"name": "a", "depth": 1, "branch": "x"}],
  "edges": [["root", "a"]],
  "labels": {"Alpha": "a"}
})";

/// Writes @p text as bad.json and returns the error of reading it.
std::string read_error(const TempDir& dir, const std::string& text) {
    const auto p = write_text_file(dir / "bad.json", text);
    return error_of([&] { scx::read_ruler_json(p.string()); });
}

/// kToyJson with the first occurrence of @p from replaced by @p to.
std::string toy_with(const std::string& from, const std::string& to) {
    std::string s = kToyJson;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

TEST(RulerJson, RoundTrip) {
    TempDir dir;
    const auto r = toy_ruler();
    const auto path = (dir / "toy.json").string();
    scx::write_ruler_json(r, path);
    expect_same(scx::read_ruler_json(path), r);
    expect_same(scx::parse_ruler_json(scx::ruler_to_json(r), "memory"), r);
    // The plain (key-sorted) json type also parses; only the label order differs.
    const auto sorted = scx::parse_ruler_json(nlohmann::json::parse(scx::ruler_to_json(r).dump()), "memory");
    EXPECT_EQ(sorted.labels.front().first, "Alpha");

    auto with_matrix = r;
    Eigen::MatrixXd m(3, 3);
    m << 0, 0.25, 1.5, //
        0.25, 0, 2,     //
        1.5, 2, 0;
    with_matrix.explicit_distances = m;
    with_matrix.edges.clear();
    scx::write_ruler_json(with_matrix, path);
    const auto back = scx::read_ruler_json(path);
    expect_same(back, with_matrix);
    EXPECT_EQ(scx::ruler_distances(back), m);

    // No temporary file is left beside the output.
    for (const auto& e : fs::directory_iterator(dir.path())) EXPECT_EQ(e.path().filename(), "toy.json");
}

TEST(RulerJson, DistancesFollowTheirOwnStageOrder) {
    TempDir dir;
    const auto text = toy_with(R"("labels": {"Alpha": "a"})", R"("labels": {"Alpha": "a"},
        "distances": {"stages": ["a", "root"], "matrix": [[0, 3], [3, 0]]})");
    const auto r = scx::read_ruler_json(write_text_file(dir / "m.json", text).string());
    ASSERT_TRUE(r.explicit_distances.has_value());
    EXPECT_EQ((*r.explicit_distances)(0, 1), 3.0);
    EXPECT_EQ((*r.explicit_distances)(1, 0), 3.0);
    EXPECT_TRUE(scx::check_ruler(r).ok);
}

TEST(RulerJson, ToJsonRefusesBrokenReferences) {
    auto r = toy_ruler();
    r.edges.emplace_back(0, 5);
    EXPECT_NE(error_of([&] { scx::ruler_to_json(r); }).find("edge #2 refers to stage #5"), std::string::npos);
    r = toy_ruler();
    r.labels.emplace_back("x", -1);
    EXPECT_NE(error_of([&] { scx::ruler_to_json(r); }).find("label 'x' refers to stage #-1"), std::string::npos);
}

TEST(RulerJson, MalformedInputsNameFileAndPath) {
    TempDir dir;
    const std::string file = (dir / "bad.json").string();
    struct Case {
        std::string text, message;
    };
    const std::vector<Case> cases{
        {"{ not json", "not valid JSON"},
        {"[1, 2]", "expected a JSON object (a scextract-ruler file), got array"},
        {toy_with("\"scextract-ruler\"", "\"other\""), "format: expected \"scextract-ruler\", got \"other\""},
        {toy_with("\"version\": 1", "\"version\": 2"), "version: version 2 is not supported (this scextract reads version 1)"},
        {toy_with("\"version\": 1", "\"version\": \"1\""), "version: expected an integer, got \"1\""},
        {toy_with("\"version\": 1,", ""), "missing key \"version\""},
        {toy_with("\"name\": \"toy\"", "\"name\": \"\""), "name: must not be empty"},
        {toy_with("\"name\": \"toy\"", "\"name\": 7"), "name: expected a string, got 7"},
        {toy_with("\"root\": \"root\"", "\"root\": \"root\", \"edge\": []"), "edge: unknown key"},
        {toy_with("\"branches\": [\"stem\", \"x\"]", "\"branches\": [\"stem\", 3]"), "branches[1]: expected a string, got 3"},
        {toy_with("\"depth\": 1", "\"depth\": \"one\""), "stages[1].depth: expected an integer, got \"one\""},
        {toy_with("\"depth\": 1", "\"depth\": 1.5"), "stages[1].depth: expected an integer, got 1.5"},
        {toy_with(", \"branch\": \"x\"", ""), "stages[1]: missing key \"branch\""},
        {toy_with("\"branch\": \"x\"", "\"branch\": \"x\", \"colour\": \"red\""), "stages[1].colour: unknown key"},
        {toy_with("\"stages\": [", "\"stages\": [3, "), "stages[0]: expected a stage object, got 3"},
        {toy_with("[\"root\", \"a\"]", "[\"root\"]"), "edges[0]: expected a pair of stage names"},
        {toy_with("[\"root\", \"a\"]", "[\"root\", \"b\"]"), "edges[0][1]: unknown stage \"b\""},
        {toy_with("[\"root\", \"a\"]", "[\"root\", 1]"), "edges[0][1]: expected a stage name, got 1"},
        {toy_with("\"edges\": [[\"root\", \"a\"]]", "\"edges\": {}"), "edges: expected an array of [stage, stage] pairs"},
        {toy_with("{\"Alpha\": \"a\"}", "{\"CD14+ Monocyte\": \"mono\"}"), "labels[\"CD14+ Monocyte\"]: unknown stage \"mono\""},
        {toy_with("{\"Alpha\": \"a\"}", "[\"a\"]"), "labels: expected an object of label -> stage name"},
        {toy_with("{\"Alpha\": \"a\"}", "{\"Alpha\": \"a\", \"Alpha\": \"root\"}"),
         "labels.Alpha: key written twice in one object"},
        {toy_with("{\"name\": \"a\", \"depth\": 1, ", "{\"name\": \"a\", \"depth\": 1, \"depth\": 2, "),
         "stages[1].depth: key written twice in one object"},
        {toy_with("\"labels\"", "\"distances\": {\"stages\": [\"a\"], \"matrix\": [[0]]}, \"labels\""),
         "distances.stages: lists 1 of the 2 stages; missing: root"},
        {toy_with("\"labels\"", "\"distances\": {\"stages\": [\"a\", \"a\"], \"matrix\": []}, \"labels\""),
         "distances.stages[1]: stage \"a\" is listed twice"},
        {toy_with("\"labels\"", "\"distances\": {\"stages\": [\"a\", \"root\"], \"matrix\": [[0, 1]]}, \"labels\""),
         "distances.matrix: expected 2 rows (one per entry of distances.stages), got 1"},
        {toy_with("\"labels\"", "\"distances\": {\"stages\": [\"a\", \"root\"], \"matrix\": [[0, 1], [1]]}, \"labels\""),
         "distances.matrix[1]: expected a row of 2 numbers, got [1]"},
        {toy_with("\"labels\"", "\"distances\": {\"stages\": [\"a\", \"root\"], \"matrix\": [[0, 1], [null, 0]]}, \"labels\""),
         "distances.matrix[1][0]: expected a number, got null"},
    };
    for (const auto& c : cases) {
        const auto msg = read_error(dir, c.text);
        EXPECT_EQ(msg.rfind(file + ": ", 0), 0U) << "no file name in: " << msg;
        EXPECT_NE(msg.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << msg;
    }
    // Keys starting with '_' are comments.
    const auto ok = scx::read_ruler_json(write_text_file(dir / "ok.json", toy_with("\"root\": \"root\"", "\"root\": \"root\", \"_note\": 1")).string());
    EXPECT_EQ(ok.stages.size(), 2U);

    const auto missing = error_of([&] { scx::read_ruler_json((dir / "absent.json").string()); });
    EXPECT_NE(missing.find("absent.json: cannot open"), std::string::npos) << missing;
}

TEST(RulerJson, NoStagesIsRefusedWhenReadAndWhenWritten) {
    // issue 23, item 2: a ruler with no stages was accepted; every use of a ruler needs one
    TempDir dir;
    const auto file = write_text_file(dir / "empty.json", R"({"format": "scextract-ruler", "version": 1, "name": "none",
        "root": "", "branches": [], "stages": [], "edges": []})").string();
    const auto msg = error_of([&] { (void)scx::read_ruler_json(file); });
    EXPECT_EQ(msg.rfind(file + ": stages: ", 0), 0U) << msg;
    EXPECT_NE(msg.find("no stages"), std::string::npos) << msg;
    scx::Ruler empty;
    empty.name = "none";
    const auto out = (dir / "out.json").string();
    const auto write_msg = error_of([&] { scx::write_ruler_json(empty, out); });
    EXPECT_EQ(write_msg.rfind(out + ": ", 0), 0U) << write_msg;
    EXPECT_NE(write_msg.find("no stages"), std::string::npos) << write_msg;
    EXPECT_FALSE(fs::exists(out));
}

TEST(RulerJson, ReadingLeavesGraphRulesToCheck) {
    // Parses (references are fine) but fails check_ruler(): that is check's report to make.
    TempDir dir;
    const auto text = toy_with("\"depth\": 1", "\"depth\": 4");
    const auto r = scx::read_ruler_json(write_text_file(dir / "r.json", text).string());
    const auto res = scx::check_ruler(r);
    EXPECT_FALSE(res.ok);
    ASSERT_EQ(res.errors.size(), 1U);
    EXPECT_NE(res.errors[0].find("stage 'a' has depth 4 but is 1 hop(s)"), std::string::npos);
}

// ---- the default ruler ----

TEST(DefaultRuler, IsTheDataFileAndPassesCheck) {
    const auto on_disk = file_text(fs::path(SCX_SOURCE_DIR) / "data/rulers/hematopoiesis.json");
    EXPECT_EQ(std::string(scx::default_hematopoiesis_ruler_json()), on_disk);

    const auto& r = scx::default_hematopoiesis_ruler();
    EXPECT_EQ(&r, &scx::default_hematopoiesis_ruler()); // parsed once
    const auto res = scx::check_ruler(r);
    std::string all;
    for (const auto& e : res.errors) all += e + "\n";
    for (const auto& w : res.warnings) all += "warning: " + w + "\n";
    EXPECT_TRUE(res.ok) << all;
    EXPECT_TRUE(res.warnings.empty()) << all;
    EXPECT_FALSE(r.sources.empty());
    EXPECT_FALSE(r.explicit_distances.has_value());

    // Written and read back unchanged.
    TempDir dir;
    scx::write_ruler_json(r, (dir / "h.json").string());
    expect_same(scx::read_ruler_json((dir / "h.json").string()), r);
}

TEST(DefaultRuler, ShapeAndDepths) {
    const auto& r = scx::default_hematopoiesis_ruler();
    EXPECT_GE(r.stages.size(), 30U);
    EXPECT_LE(r.stages.size(), 35U);
    EXPECT_EQ(r.branches.size(), 7U);
    for (const auto& b : scx::check_ruler(r).branch_counts) EXPECT_GE(b.n_stages, 1) << b.branch;
    // A tree: one edge fewer than stages.
    EXPECT_EQ(r.edges.size() + 1, r.stages.size());

    EXPECT_EQ(r.root, "HSC");
    const auto hsc = r.stage_index("HSC");
    ASSERT_GE(hsc, 0);
    const auto d = scx::ruler_distances(r);
    EXPECT_TRUE(d.isApprox(d.transpose()));
    for (std::size_t s = 0; s < r.stages.size(); ++s)
        EXPECT_EQ(static_cast<double>(r.stages[s].depth), d(hsc, static_cast<Eigen::Index>(s))) << r.stages[s].name;

    auto depth = [&](const char* name) {
        const auto s = r.stage_index(name);
        EXPECT_GE(s, 0) << name;
        return s < 0 ? -1 : r.stages[static_cast<std::size_t>(s)].depth;
    };
    // METHOD.md: HSC 0, MPP 1, CMP/CLP 2, ... plasma cells at 7 (macrophages at 6 here).
    EXPECT_EQ(depth("HSC"), 0);
    EXPECT_EQ(depth("MPP"), 1);
    EXPECT_EQ(depth("CMP"), 2);
    EXPECT_EQ(depth("CLP"), 2);
    EXPECT_EQ(depth("plasma_cell"), 7);
    EXPECT_EQ(depth("macrophage"), 6);
    EXPECT_EQ(scx::check_ruler(r).max_depth, 7);
}

TEST(DefaultRuler, MapsTheLabelsOfTheIssue) {
    const auto& r = scx::default_hematopoiesis_ruler();
    auto stage = [&](const char* label) {
        const auto s = r.stage_of_label(label);
        return s < 0 ? std::string("(none)") : r.stages[static_cast<std::size_t>(s)].name;
    };
    EXPECT_EQ(stage("CD14+ Monocyte"), "classical_monocyte");
    EXPECT_EQ(stage("cd14 monocytes"), "classical_monocyte");
    EXPECT_EQ(stage("FCGR3A+ Mono"), "nonclassical_monocyte");
    EXPECT_EQ(stage("CD14- CD16+ Monocytes"), "nonclassical_monocyte");
    EXPECT_EQ(stage("CD14+ CD16- Monocytes"), "classical_monocyte");
    EXPECT_EQ(stage("CD8 T"), "naive_CD8_T");
    EXPECT_EQ(stage("CD8 T cells"), "naive_CD8_T");
    EXPECT_EQ(stage("T_CD4"), "naive_CD4_T");
    EXPECT_EQ(stage("CD4+ T Cells"), "naive_CD4_T");
    EXPECT_EQ(stage("Primitive"), "HSC");
    EXPECT_EQ(stage("CD34+"), "HSC");
    EXPECT_EQ(stage("B"), "naive_B");
    EXPECT_EQ(stage("B cells"), "naive_B");
    EXPECT_EQ(stage("NK"), "NK");
    EXPECT_EQ(stage("NK cell"), "NK");
    EXPECT_EQ(stage("Plasma cells"), "plasma_cell");
    EXPECT_EQ(stage("Platelet"), "megakaryocyte");
    EXPECT_EQ(stage("Dendritic"), "cDC2");
    EXPECT_EQ(stage("CD4+/CD25 T Reg"), "regulatory_T");
    EXPECT_EQ(stage("Late erythroid progenitor"), "erythroblast");
    EXPECT_EQ(stage("HSCs & MPPs"), "HSC");
    // Deliberately unmapped: several branches, or no cell type.
    EXPECT_EQ(stage("Myeloid cell"), "(none)");
    EXPECT_EQ(stage("unknown"), "(none)");
    EXPECT_EQ(stage("?"), "(none)");
    EXPECT_EQ(stage("T cell (unassigned, 3.1-MT)"), "(none)");
}

/// Every label column of the hematopoietic datasets in ../shared/data (and the two bundled
/// in data/), with the labels that are left unmapped on purpose.
TEST(DefaultRuler, CoversTheSharedDatasets) {
    struct Column {
        std::string file, key;
        std::set<std::string> unmapped;
    };
    const std::set<std::string> celltypist_clusters{"Cluster1_Unexposed", "Cluster2_Unexposed", "Cluster3_Unexposed",
                                                    "Cluster4_Unexposed", "Cluster5_Unexposed"};
    auto with = [](std::set<std::string> s, const std::string& extra) {
        s.insert(extra);
        return s;
    };
    const fs::path shared(SCX_SHARED_DATA_DIR);
    const fs::path bundled = fs::path(SCX_SOURCE_DIR) / "data";
    const std::vector<Column> columns{
        {(bundled / "pbmc68k_reduced.h5ad").string(), "cell_type", {}},
        {(bundled / "triana2021_hspc.h5ad").string(), "cell_type", {}},
        {(bundled / "triana2021_hspc.h5ad").string(), "ct", {}},
        {(bundled / "triana2021_hspc.h5ad").string(), "Ident", {"Central memory / effector memory T cells"}},
        {(bundled / "triana2021_hspc.h5ad").string(), "Prediction_Ind", {}},
        {(shared / "scanpy_pbmc68k_reduced/scanpy_pbmc68k_reduced.h5ad").string(), "bulk_labels", {}},
        {(shared / "clustifyr_pbmc3k/clustifyr_pbmc3k.h5ad").string(), "cell_type", {}},
        {(shared / "muscat_kang2018_pbmc/muscat_kang2018_pbmc.h5ad").string(), "cell_type", {}},
        {(shared / "soupx_pbmc4k/soupx_pbmc4k.h5ad").string(), "cell_type", {"unknown"}},
        {(shared / "soupx_pbmc4k/soupx_pbmc4k.h5ad").string(), "Annotation", {"?"}},
        {(shared / "celltypist_sample_2020/celltypist_sample_2020.h5ad").string(), "cell_type",
         with(celltypist_clusters, "Myeloid cell")},
        {(shared / "celltypist_sample_2020/celltypist_sample_2020.h5ad").string(), "sample_label",
         with(celltypist_clusters, "Myeloid")},
        {(shared / "scirpy_wu2020_tcells_200/scirpy_wu2020_tcells_200.h5ad").string(), "cell_type", {"3.1-MT"}},
        {(shared / "scirpy_wu2020_tcells_200/scirpy_wu2020_tcells_200.h5ad").string(), "cell_type_coarse",
         {"T cell (unassigned, 3.1-MT)"}},
        {(shared / "triana2021_hspc_citeseq/triana2021_hspc_citeseq.h5ad").string(), "ct", {}},
        {(shared / "triana2021_hspc_citeseq/triana2021_hspc_citeseq.h5ad").string(), "Ident",
         {"Central memory / effector memory T cells"}},
        {(shared / "triana2021_hspc_citeseq/triana2021_hspc_citeseq.h5ad").string(), "Prediction_Ind", {}},
    };
    const auto& r = scx::default_hematopoiesis_ruler();
    int checked = 0;
    for (const auto& c : columns) {
        if (!fs::exists(c.file)) continue; // the shared folder is optional
        const auto ad = scx::read_h5ad(c.file, {.read_X = false, .read_layers = false, .read_raw_X = false, .read_obsp = false});
        const auto* col = ad.obs.find(c.key);
        ASSERT_NE(col, nullptr) << c.file << " obs['" << c.key << "']";
        std::vector<std::string> labels;
        for (auto& l : scx::column_as_strings(*col, c.key))
            if (!l.empty()) labels.push_back(l);
        const auto res = scx::check_ruler(r, labels);
        const std::set<std::string> unknown(res.unknown_labels.begin(), res.unknown_labels.end());
        EXPECT_EQ(unknown, c.unmapped) << c.file << " obs['" << c.key << "']";
        EXPECT_FALSE(res.mapped_labels.empty()) << c.file;
        ++checked;
    }
    EXPECT_GE(checked, 5); // the bundled files at least
}

} // namespace
