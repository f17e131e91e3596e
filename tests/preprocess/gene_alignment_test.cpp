#include "scextract/preprocess/gene_alignment.hpp"

#include "scextract/core/error.hpp"

#include <gtest/gtest.h>

namespace scx {
namespace {

TEST(AlignGenes, ExactCaseSensitiveMatch) {
    const GeneVocabulary vocab = {{"CD3E", 10}, {"MS4A1", 11}, {"<pad>", 0}, {"LYZ", 12}};
    const std::vector<std::string> symbols = {"LYZ", "cd3e", "MS4A1", "UNKNOWN1", "CD3E"};
    const auto a = align_genes(symbols, vocab);
    EXPECT_EQ(a.n_genes, 5);
    EXPECT_EQ(a.positions, (std::vector<std::int64_t>{0, 2, 4}));
    EXPECT_EQ(a.vocab_ids, (std::vector<std::int64_t>{12, 11, 10}));
    EXPECT_EQ(a.unmatched, (std::vector<std::string>{"cd3e", "UNKNOWN1"}));
    EXPECT_DOUBLE_EQ(a.matched_fraction(), 0.6);
    EXPECT_EQ(align_genes({}, vocab).matched_fraction(), 0.0);
}

TEST(EnsemblIds, Recognised) {
    EXPECT_TRUE(looks_like_ensembl_gene_id("ENSG00000141510"));
    EXPECT_TRUE(looks_like_ensembl_gene_id("ENSG00000141510.17"));
    EXPECT_TRUE(looks_like_ensembl_gene_id("ENSMUSG00000059552"));
    EXPECT_TRUE(looks_like_ensembl_gene_id("ENSDARG00000012345"));
    EXPECT_FALSE(looks_like_ensembl_gene_id("ENSA"));            // a real gene symbol
    EXPECT_FALSE(looks_like_ensembl_gene_id("ENST00000269305")); // transcript, not gene
    EXPECT_FALSE(looks_like_ensembl_gene_id("ENSG0000014151X"));
    EXPECT_FALSE(looks_like_ensembl_gene_id("ENSG00000141510."));
    EXPECT_FALSE(looks_like_ensembl_gene_id("TP53"));
}

TEST(ChooseGeneSymbols, PrefersSymbolColumnForEnsemblVarNames) {
    const std::vector<std::string> var_names = {"ENSG00000141510", "ENSG00000105369", "ENSG00000090382"};
    const std::vector<GeneColumn> columns = {{"feature_biotype", {"gene", "gene", "gene"}},
                                             {"gene_name", {"TP53", "CD79A", "LYZ"}},
                                             {"feature_name", {"TP53", "CD79A", ""}}};
    const auto c = choose_gene_symbols(var_names, columns);
    EXPECT_TRUE(c.var_names_are_ensembl);
    EXPECT_EQ(c.source, "feature_name"); // first in the preference list
    EXPECT_EQ(c.symbols, columns[2].values);
    EXPECT_NE(c.explanation.find("var['feature_name']"), std::string::npos) << c.explanation;
    EXPECT_NE(c.explanation.find("1 genes have an empty symbol"), std::string::npos) << c.explanation;

    GeneSymbolOptions force;
    force.force_column = "gene_name";
    EXPECT_EQ(choose_gene_symbols(var_names, columns, force).symbols, columns[1].values);
    force.force_column = "nope";
    EXPECT_THROW(choose_gene_symbols(var_names, columns, force), Error);
}

TEST(ChooseGeneSymbols, KeepsSymbolVarNames) {
    const std::vector<std::string> var_names = {"TP53", "CD79A", "LYZ"};
    const std::vector<GeneColumn> columns = {{"gene_ids", {"ENSG00000141510", "ENSG00000105369", "ENSG00000090382"}}};
    const auto c = choose_gene_symbols(var_names, columns);
    EXPECT_FALSE(c.var_names_are_ensembl);
    EXPECT_EQ(c.source, "var_names");
    EXPECT_EQ(c.symbols, var_names);
}

TEST(ChooseGeneSymbols, EnsemblWithoutSymbolColumnSaysSo) {
    const std::vector<std::string> var_names = {"ENSG00000141510", "ENSG00000105369"};
    const auto c = choose_gene_symbols(var_names, {});
    EXPECT_EQ(c.source, "var_names");
    EXPECT_NE(c.explanation.find("no symbol column"), std::string::npos) << c.explanation;
    const std::vector<GeneColumn> bad = {{"gene_name", {"TP53"}}};
    EXPECT_THROW(choose_gene_symbols(var_names, bad), Error); // length mismatch
}

} // namespace
} // namespace scx
