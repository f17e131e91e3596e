// Cell folds standing in for donors: every label spread over the folds in proportion, fold
// sizes within one cell, seeded, and independent of where a label's cells sit in the data.

#include "scextract/stats/cell_folds.hpp"

#include "scextract/core/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace {

std::vector<std::string> labels_of(const std::map<std::string, int>& counts) {
    std::vector<std::string> v;
    for (const auto& [l, n] : counts) v.insert(v.end(), static_cast<std::size_t>(n), l);
    return v;
}

TEST(CellFolds, StratifiedAndBalanced) {
    const auto labels = labels_of({{"HSC", 13}, {"B", 95}, {"NK", 31}, {"mono", 129}, {"DC", 240}});
    const auto fold = scx::stratified_cell_folds(labels, {.n_folds = 10, .seed = 42});
    std::vector<int> size(10, 0);
    std::map<std::string, std::vector<int>> per_label;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        ASSERT_GE(fold[i], 0);
        ASSERT_LT(fold[i], 10);
        ++size[static_cast<std::size_t>(fold[i])];
        per_label[labels[i]].resize(10);
        ++per_label[labels[i]][static_cast<std::size_t>(fold[i])];
    }
    EXPECT_LE(*std::max_element(size.begin(), size.end()) - *std::min_element(size.begin(), size.end()), 1);
    for (const auto& [l, counts] : per_label)
        EXPECT_LE(*std::max_element(counts.begin(), counts.end()) - *std::min_element(counts.begin(), counts.end()), 1) << l;
}

TEST(CellFolds, SeededAndNamedInOrder) {
    const auto labels = labels_of({{"a", 40}, {"b", 25}});
    EXPECT_EQ(scx::stratified_cell_folds(labels, {.n_folds = 5, .seed = 1}),
              scx::stratified_cell_folds(labels, {.n_folds = 5, .seed = 1}));
    EXPECT_NE(scx::stratified_cell_folds(labels, {.n_folds = 5, .seed = 1}),
              scx::stratified_cell_folds(labels, {.n_folds = 5, .seed = 2}));
    const auto names = scx::cell_fold_donors(labels, {.n_folds = 12, .seed = 1});
    EXPECT_TRUE(std::all_of(names.begin(), names.end(), [](const std::string& n) { return n.size() == 6 && n.rfind("fold", 0) == 0; }));
    EXPECT_NE(std::find(names.begin(), names.end(), "fold12"), names.end());
    EXPECT_THROW(scx::stratified_cell_folds(labels, {.n_folds = 1}), scx::Error);
    EXPECT_NE(scx::cell_fold_note("no donor column", {}).find("not donors"), std::string::npos);
}

} // namespace
