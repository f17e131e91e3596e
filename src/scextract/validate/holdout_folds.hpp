#pragma once
/// @file holdout_folds.hpp
/// @brief The cells each holdout gate holds out, and the blocked label permutation: shared by
/// the LET validation (manifold_validation.hpp) and the Isomap / geodesic-MDS validation
/// (geometry_validation.hpp), so both hold out the same cells and shuffle the same blocks.

#include "scextract/core/random.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/validate/manifold_validation.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// One fold: its name (for the report) and a 0/1 flag per cell, 1 = held out.
struct HoldoutFold {
    std::string name;
    std::vector<char> held;
};

/// The random gate's single fold: a seeded share of the donor x tissue x cell-type groups
/// (whole groups: a random share of cells would leave too few cells per group for an anchor).
HoldoutFold random_group_fold(const ManifoldData& data, double fraction, std::uint64_t seed);

/// Leave-donor-out: the donors in seeded order dealt into min(folds, donors) folds.
std::vector<HoldoutFold> donor_holdout_folds(const ManifoldData& data, std::int64_t folds, std::uint64_t seed);

/// Leave-branch-out: one fold per ruler branch the data covers, named by the branch.
std::vector<HoldoutFold> branch_holdout_folds(const ManifoldData& data, const Ruler& ruler);

/// Sets score (mean over folds), worst and passed (score >= threshold) from g.folds.
void finish_gate(HoldoutGate& g, double threshold);

/// The cells of each donor x tissue block (the permutation test shuffles within them).
std::vector<std::vector<std::int64_t>> donor_tissue_blocks(const ManifoldData& data);

/// Stage and label codes with the (stage, label) pairs shuffled among the cells of each block.
void permute_within_blocks(const ManifoldData& data, Rng& rng, std::vector<std::int64_t>& stage, std::vector<std::int64_t>& label,
                           const std::vector<std::vector<std::int64_t>>& blocks);

/// p values and null summary from the observed statistic and the null draws (NaN draws count
/// against the observed value); refit / epochs are left to the caller.
PermutationTest summarize_permutations(double observed, const std::vector<double>& null, double alpha);

} // namespace scx
