#pragma once
/// @file donor_splits.hpp
/// @brief Grouped donor-holdout splits (METHOD.md, "Benchmark protocol"): each split holds
/// out a set of donors whose cells are the test cells; the other donors' cells, capped at a
/// number of training cells, are the training cells. Test-donor sets are distinct between
/// splits; every method sees the same splits.

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct DonorSplitOptions {
    std::int64_t n_splits = 12;       ///< the paper's full campaign used 88
    std::int64_t test_donors = 0;     ///< donors held out per split; 0: 20% of the donors, at least 1
    std::int64_t max_train_cells = 100000; ///< seeded subsample above this (the paper's cap)
    std::uint64_t seed = 42;
};

/// One split: row indices into the cells, ascending.
struct DonorSplit {
    std::int64_t index = 0;
    std::vector<std::int64_t> test_donors; ///< donor codes held out, ascending
    std::vector<std::int64_t> train, test;
};

struct DonorSplitResult {
    std::vector<DonorSplit> splits;
    std::int64_t test_donors_per_split = 0;
    std::uint64_t seed = 0;              ///< as given in the options
    std::int64_t max_train_cells = 0;    ///< as given in the options
    /// Distinct donors that are a test donor in at least one split (the honest unit for
    /// statistics over donors).
    std::vector<std::int64_t> distinct_test_donors;
};

/// Number of distinct test-donor sets of size @p k among @p n donors, saturating at
/// INT64_MAX.
std::int64_t possible_donor_splits(std::int64_t n, std::int64_t k);

/// Splits cells whose donor codes are @p donor (0 .. n_donors-1). Test-donor sets are drawn
/// so that donors take turns being held out (blocks of a seeded permutation of the donors,
/// repeated with fresh permutations), skipping a set already drawn. Throws scx::Error when
/// test_donors is not below the number of donors, or when more splits are asked for than
/// distinct sets exist (the message says how many are possible).
DonorSplitResult make_donor_splits(const std::vector<std::int64_t>& donor, std::int64_t n_donors,
                                   const DonorSplitOptions& options = {});

} // namespace scx
