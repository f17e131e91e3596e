// Gene programs for make-model's planting: from a simulator-style h5ad
// (uns['scx_sim']['programs']) and from a JSON file.

#include "scextract/io/gene_programs.hpp"
#include "scextract/io/h5ad_writer.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace {

using scx::test::error_of;

scx::AnnData with_uns(scx::Mapping uns) {
    scx::AnnData ad;
    ad.n_obs = 2;
    ad.n_vars = 2;
    ad.obs.index = {"c0", "c1"};
    ad.var.index = {"CD34", "GATA1"};
    ad.uns = std::move(uns);
    return ad;
}

scx::Element strings(std::vector<std::string> v) {
    const auto n = static_cast<std::int64_t>(v.size());
    return scx::Element{scx::StringArray{{n}, std::move(v)}};
}

TEST(GenePrograms, FromJsonInFileOrder) {
    scx::test::TempDir dir;
    const auto p = scx::test::write_text_file(dir / "programs.json",
                                              R"({"stage_HSC": ["CD34", "HLF"], "branch_B": ["CD19"], "empty": []})");
    const auto programs = scx::read_gene_programs(p.string());
    ASSERT_EQ(programs.size(), 3u);
    EXPECT_EQ(programs[0].name, "stage_HSC");
    EXPECT_EQ(programs[0].genes, (std::vector<std::string>{"CD34", "HLF"}));
    EXPECT_EQ(programs[1].name, "branch_B");
    EXPECT_TRUE(programs[2].genes.empty());
}

TEST(GenePrograms, JsonRefusals) {
    scx::test::TempDir dir;
    auto read = [&](const std::string& text) {
        const auto p = scx::test::write_text_file(dir / "p.json", text);
        return error_of([&] { scx::read_gene_programs(p.string()); });
    };
    EXPECT_NE(read("[1, 2]").find("expected a JSON object"), std::string::npos);
    EXPECT_NE(read(R"({"a": "CD34"})").find("not a list of gene symbols"), std::string::npos);
    EXPECT_NE(read(R"({"a": ["CD34", 3]})").find("not a gene symbol"), std::string::npos);
    EXPECT_NE(read(R"({"a": []})").find("no gene program holds a gene"), std::string::npos);
    EXPECT_NE(read("{").find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of([&] { scx::read_gene_programs((dir / "absent.json").string()); }).find("cannot open"),
              std::string::npos);
}

TEST(GenePrograms, FromSimulatedH5ad) {
    scx::Mapping programs;
    programs.set("stage_HSC", strings({"CD34", "HLF", "CRHBP"}));
    programs.set("stage_Ery", strings({"GATA1", "KLF1"}));
    scx::Mapping sim;
    sim.set("generator", strings({"scextract simulate"}));
    sim.set("programs", scx::Element{programs});
    scx::Mapping uns;
    uns.set("scx_sim", scx::Element{sim});
    scx::test::TempDir dir;
    const auto path = (dir / "sim.h5ad").string();
    scx::write_h5ad(with_uns(uns), path);
    const auto got = scx::read_gene_programs(path);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].name, "stage_HSC");
    EXPECT_EQ(got[0].genes, (std::vector<std::string>{"CD34", "HLF", "CRHBP"}));
    EXPECT_EQ(got[1].name, "stage_Ery");
    EXPECT_EQ(got[1].genes, (std::vector<std::string>{"GATA1", "KLF1"}));
}

TEST(GenePrograms, H5adWithoutPrograms) {
    scx::test::TempDir dir;
    const auto plain = (dir / "plain.h5ad").string();
    scx::write_h5ad(with_uns({}), plain);
    EXPECT_NE(error_of([&] { scx::read_gene_programs(plain); }).find("no uns['scx_sim']"), std::string::npos);

    scx::Mapping sim;
    sim.set("generator", strings({"x"}));
    scx::Mapping uns;
    uns.set("scx_sim", scx::Element{sim});
    const auto no_programs = (dir / "np.h5ad").string();
    scx::write_h5ad(with_uns(uns), no_programs);
    EXPECT_NE(error_of([&] { scx::read_gene_programs(no_programs); }).find("['programs']"), std::string::npos);
}

} // namespace
