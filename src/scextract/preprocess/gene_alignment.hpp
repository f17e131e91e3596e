#pragma once
/// @file gene_alignment.hpp
/// @brief Matching a dataset's genes to a model's gene vocabulary.
///
/// scGPT-style vocabularies are keyed by HGNC-style symbols. Many h5ad files
/// (CELLxGENE, Cell Ranger) index var by Ensembl ids and keep symbols in a column
/// such as feature_name, so choose_gene_symbols() picks the column to use and
/// says why; align_genes() then matches exactly and case-sensitively.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace scx {

/// Gene symbol -> token id of a model vocabulary.
using GeneVocabulary = std::unordered_map<std::string, std::int64_t>;

/// Result of align_genes().
struct GeneAlignment {
    std::int64_t n_genes = 0;            ///< number of input symbols
    std::vector<std::int64_t> positions; ///< input positions that matched, ascending
    std::vector<std::int64_t> vocab_ids; ///< vocabulary id of each matched position
    std::vector<std::string> unmatched;  ///< symbols with no vocabulary entry, in input order

    /// Fraction of input genes found in the vocabulary (0 for no genes).
    [[nodiscard]] double matched_fraction() const;
};

/// Matches each symbol exactly (case-sensitive) against @p vocab.
GeneAlignment align_genes(std::span<const std::string> symbols, const GeneVocabulary& vocab);

/// True for Ensembl gene ids: "ENS", an optional species code of capitals, "G",
/// at least 6 digits and an optional ".version" (ENSG00000141510, ENSMUSG00000059552.3).
bool looks_like_ensembl_gene_id(std::string_view id);

/// A named string column of var (one value per gene).
struct GeneColumn {
    std::string name;
    std::vector<std::string> values;
};

/// Options of choose_gene_symbols().
struct GeneSymbolOptions {
    /// Columns that hold symbols, in order of preference.
    std::vector<std::string> symbol_columns = {"feature_name", "gene_symbols", "gene_symbol",
                                               "gene_name",    "gene_names",   "symbol"};
    /// var_names count as Ensembl ids when at least this fraction of them look like one.
    double ensembl_fraction = 0.5;
    /// Use this column whatever var_names look like (empty: decide automatically).
    std::string force_column;
};

/// The symbols chosen for alignment and where they came from.
struct GeneSymbolChoice {
    std::vector<std::string> symbols;
    std::string source;                 ///< "var_names" or the column name
    bool var_names_are_ensembl = false; ///< var_names looked like Ensembl ids
    std::string explanation;            ///< one sentence for the user, e.g. for a log line
};

/// Picks var_names, or a symbol column when var_names look like Ensembl ids and
/// such a column exists. Throws scx::Error if a column's length differs from
/// var_names or a forced column is missing.
GeneSymbolChoice choose_gene_symbols(std::span<const std::string> var_names, std::span<const GeneColumn> columns,
                                     const GeneSymbolOptions& options = {});

} // namespace scx
