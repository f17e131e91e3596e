#pragma once
/// @file factor_enrichment.hpp
/// @brief Gene programs of operator factors: hypergeometric enrichment of each factor's read
/// and write genes (top loadings) in gene sets, with the panel as the universe (a factor can
/// only pick panel genes) and Benjamini-Hochberg over every factor x side x set test.

#include "scextract/interpret/operator_factors.hpp"
#include "scextract/io/gene_sets_gmt.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct FactorEnrichmentOptions {
    std::int64_t top_genes = 60;     ///< read / write genes per factor
    std::int64_t min_set_genes = 5;  ///< sets with fewer genes in the panel are not tested
    std::int64_t max_set_genes = 500; ///< nor sets with more (too broad to name a program)
};

/// One factor side x gene set test.
struct EnrichmentTest {
    std::int64_t factor = 0;
    std::string side;                   ///< "read" or "write"
    std::string set;                    ///< gene-set name
    std::string source;                 ///< the GMT file it came from
    std::int64_t set_in_panel = 0;      ///< the set's genes in the panel (K)
    std::int64_t overlap = 0;           ///< of the factor's top genes (k of n)
    std::vector<std::string> genes;     ///< the overlapping genes, by loading
    double fold = 0;                    ///< k / (n K / G)
    double p = 1, q = 1;
};

struct FactorEnrichmentResult {
    std::vector<EnrichmentTest> tests;  ///< sorted by factor, side (read first), p, set name
    std::int64_t sets_given = 0;
    std::int64_t sets_tested = 0;       ///< with min_set_genes..max_set_genes panel genes
    std::int64_t sets_without_panel_genes = 0;
    std::int64_t universe = 0;          ///< panel genes
};

/// Tests every factor's read and write genes against @p sets. Gene symbols match exactly,
/// ignoring case. Throws scx::Error when no set has min_set_genes..max_set_genes panel genes
/// (nothing could be tested), naming how many sets had none.
FactorEnrichmentResult enrich_factors(const OperatorFactors& factors, const std::vector<GeneSet>& sets,
                                      const FactorEnrichmentOptions& options = {});

} // namespace scx
