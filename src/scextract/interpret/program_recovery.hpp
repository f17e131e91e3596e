#pragma once
/// @file program_recovery.hpp
/// @brief Ground truth for interpretation: do an operator's factors recover known gene
/// programs (the programs a planted model carries, docs/planted_model.md)? For each program,
/// the best-match Jaccard index between its panel genes and the read or write genes of any of
/// the leading factors, against a permutation null of random panel gene sets of the same
/// size matched the same way (so a null that finds "programs" in any operator is measured,
/// not assumed).

#include "scextract/interpret/operator_factors.hpp"
#include "scextract/io/gene_programs.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct ProgramRecoveryOptions {
    std::int64_t top_genes = 60;        ///< read / write genes per factor
    std::int64_t factors = 16;          ///< leading factors (by singular value) searched
    std::int64_t min_program_genes = 3; ///< programs with fewer panel genes are skipped
    std::int64_t permutations = 1000;
    double fdr = 0.05;                  ///< recovered: BH q below this over programs
    std::uint64_t seed = 42;
};

struct ProgramMatch {
    std::string program;
    std::int64_t genes_in_panel = 0;
    double jaccard = 0;            ///< best match
    std::int64_t factor = -1;      ///< the best-matching factor
    std::string side;              ///< "read" or "write"
    std::int64_t overlap = 0;
    double null_mean = 0, null_q95 = 0; ///< of the best-match Jaccard of random sets of this size
    double p = 1, q = 1;           ///< one-sided permutation p (floor 1 / (1 + permutations)), BH q
    bool recovered = false;
};

struct ProgramRecoveryResult {
    std::vector<ProgramMatch> programs;  ///< in the order given
    std::vector<std::string> skipped;    ///< programs with too few panel genes
    std::int64_t n_recovered = 0;
    double fraction_recovered = 0;       ///< of the programs tested
    double median_jaccard = 0;
};

/// Matches @p programs against the leading factors of @p factors. Throws scx::Error when no
/// program has min_program_genes genes in the panel.
ProgramRecoveryResult recover_programs(const OperatorFactors& factors, const std::vector<GeneProgram>& programs,
                                       const ProgramRecoveryOptions& options = {});

} // namespace scx
