#include "scextract/core/error.hpp"
#include "scextract/stats/donor_splits.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace scx {
namespace {

/// 20 donors with 3..12 cells each, interleaved.
std::vector<std::int64_t> donors_of_cells(std::int64_t n_donors = 20) {
    std::vector<std::int64_t> d;
    for (std::int64_t round = 0; round < 12; ++round)
        for (std::int64_t k = 0; k < n_donors; ++k)
            if (round < 3 + k % 10) d.push_back(k);
    return d;
}

TEST(DonorSplits, TestDonorSetsAreDistinctAndPartitionTheCells) {
    const auto donor = donors_of_cells();
    const auto r = make_donor_splits(donor, 20, {.n_splits = 12, .test_donors = 4});
    ASSERT_EQ(r.splits.size(), 12U);
    EXPECT_EQ(r.test_donors_per_split, 4);
    std::set<std::vector<std::int64_t>> sets;
    for (const auto& s : r.splits) {
        EXPECT_EQ(s.test_donors.size(), 4U);
        EXPECT_TRUE(std::is_sorted(s.test_donors.begin(), s.test_donors.end()));
        sets.insert(s.test_donors);
        EXPECT_EQ(s.train.size() + s.test.size(), donor.size());
        for (const auto i : s.test) EXPECT_TRUE(std::binary_search(s.test_donors.begin(), s.test_donors.end(), donor[i]));
        for (const auto i : s.train) EXPECT_FALSE(std::binary_search(s.test_donors.begin(), s.test_donors.end(), donor[i]));
    }
    EXPECT_EQ(sets.size(), 12U);
    // Donors take turns: 12 splits x 4 = 48 slots over 20 donors touch every donor.
    EXPECT_EQ(r.distinct_test_donors.size(), 20U);
}

TEST(DonorSplits, SeededAndReproducible) {
    const auto donor = donors_of_cells();
    const auto a = make_donor_splits(donor, 20, {.n_splits = 8, .seed = 3});
    const auto b = make_donor_splits(donor, 20, {.n_splits = 8, .seed = 3});
    const auto c = make_donor_splits(donor, 20, {.n_splits = 8, .seed = 4});
    bool any_different = false;
    for (std::size_t i = 0; i < a.splits.size(); ++i) {
        EXPECT_EQ(a.splits[i].test_donors, b.splits[i].test_donors);
        EXPECT_EQ(a.splits[i].train, b.splits[i].train);
        any_different |= a.splits[i].test_donors != c.splits[i].test_donors;
    }
    EXPECT_TRUE(any_different);
}

TEST(DonorSplits, DefaultHoldsOutTwentyPercent) {
    const auto r = make_donor_splits(donors_of_cells(), 20, {.n_splits = 2});
    EXPECT_EQ(r.test_donors_per_split, 4);
}

TEST(DonorSplits, TrainingCapIsASeededSubsample) {
    const auto donor = donors_of_cells();
    const auto r = make_donor_splits(donor, 20, {.n_splits = 3, .test_donors = 2, .max_train_cells = 50});
    for (const auto& s : r.splits) {
        EXPECT_EQ(s.train.size(), 50U);
        EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
        EXPECT_TRUE(std::adjacent_find(s.train.begin(), s.train.end()) == s.train.end());
        for (const auto i : s.train) EXPECT_FALSE(std::binary_search(s.test_donors.begin(), s.test_donors.end(), donor[i]));
    }
}

TEST(DonorSplits, EveryPossibleSplitCanBeAskedFor) {
    // C(5, 2) = 10: all of them, each once.
    std::vector<std::int64_t> donor = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4};
    const auto r = make_donor_splits(donor, 5, {.n_splits = 10, .test_donors = 2});
    std::set<std::vector<std::int64_t>> sets;
    for (const auto& s : r.splits) sets.insert(s.test_donors);
    EXPECT_EQ(sets.size(), 10U);
}

TEST(DonorSplits, TooManySplitsSaysHowManyArePossible) {
    std::vector<std::int64_t> donor = {0, 1, 2, 3, 4};
    try {
        (void)make_donor_splits(donor, 5, {.n_splits = 11, .test_donors = 2});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("only 10 distinct splits"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)make_donor_splits(donor, 5, {.n_splits = 1, .test_donors = 5}), Error);
    EXPECT_THROW((void)make_donor_splits({0, 0}, 1, {}), Error);
}

TEST(DonorSplits, PossibleSplitsIsTheBinomialCoefficient) {
    EXPECT_EQ(possible_donor_splits(5, 2), 10);
    EXPECT_EQ(possible_donor_splits(20, 4), 4845);
    EXPECT_EQ(possible_donor_splits(60, 30), 118264581564861424LL);
    EXPECT_EQ(possible_donor_splits(200, 100), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(possible_donor_splits(3, 4), 0);
}

} // namespace
} // namespace scx
