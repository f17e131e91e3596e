#pragma once
/// @file interpretation.hpp
/// @brief Everything `interpret` finds about one algorithm's operator, and its files:
/// factors.tsv, ablation.tsv, subsets.tsv, enrichment.tsv, programs.tsv and interpret.json
/// (the HTML page is report/interpret_report.hpp).

#include "scextract/interpret/factor_ablation.hpp"
#include "scextract/interpret/factor_enrichment.hpp"
#include "scextract/interpret/operator_factors.hpp"
#include "scextract/interpret/program_recovery.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scx {

struct Interpretation {
    std::string algorithm;              ///< the .scx file
    std::string data;                   ///< the cells scored
    std::string features;               ///< the algorithm's feature description
    std::string software;               ///< "scextract VERSION"
    OperatorFactors factors;
    std::int64_t top_genes = 60;        ///< read / write genes listed per factor
    FactorAblationResult ablation;
    std::optional<FactorEnrichmentResult> enrichment; ///< absent when no gene sets were given
    std::vector<std::string> gene_set_files;
    double enrichment_fdr = 0.05;
    std::optional<ProgramRecoveryResult> programs;   ///< with known programs (e.g. a planted bed)
    std::string programs_source;
};

/// factors.tsv: one row per factor x side x rank (factor, scale, side, rank, gene, loading).
std::string interpretation_factors_tsv(const Interpretation& i);
/// ablation.tsv: intact, then each factor zeroed: endpoint values, impact, share, impact rank.
std::string interpretation_ablation_tsv(const Interpretation& i);
/// subsets.tsv: every non-empty subset of the core kept alone.
std::string interpretation_subsets_tsv(const Interpretation& i);
/// enrichment.tsv: per factor and side, every set with q < fdr, and at least the best 5.
std::string interpretation_enrichment_tsv(const Interpretation& i);
/// programs.tsv: per known program, its best match and the permutation null.
std::string interpretation_programs_tsv(const Interpretation& i);
/// interpret.json: the summary (shares, core, subsets, recovery) and each factor's top genes.
nlohmann::ordered_json interpretation_json(const Interpretation& i);

/// The enrichment rows the TSV and the page list for one factor side (q < fdr, at least @p min_rows).
std::vector<const EnrichmentTest*> listed_enrichment(const FactorEnrichmentResult& e, std::int64_t factor,
                                                     const std::string& side, double fdr, std::size_t min_rows = 5);

} // namespace scx
