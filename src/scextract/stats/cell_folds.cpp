#include "scextract/stats/cell_folds.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/core/shuffle.hpp"

#include <map>

#include <fmt/format.h>

namespace scx {

std::vector<std::int64_t> stratified_cell_folds(const std::vector<std::string>& labels, const CellFoldOptions& options) {
    if (options.n_folds < 2) throw Error(fmt::format("cell folds: need at least 2 folds, got {}", options.n_folds));
    std::map<std::string, std::vector<std::int64_t>> by_label; // sorted: independent of cell order within labels
    for (std::size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(static_cast<std::int64_t>(i));
    std::vector<std::int64_t> fold(labels.size(), 0);
    Rng rng(options.seed, 0xF01D);
    std::int64_t next = 0;
    for (auto& [label, cells] : by_label) {
        shuffle_in_place(cells, rng);
        for (const auto c : cells) {
            fold[static_cast<std::size_t>(c)] = next;
            next = (next + 1) % options.n_folds;
        }
    }
    return fold;
}

std::vector<std::string> cell_fold_donors(const std::vector<std::string>& labels, const CellFoldOptions& options) {
    const auto folds = stratified_cell_folds(labels, options);
    std::vector<std::string> names;
    names.reserve(folds.size());
    for (const auto f : folds) names.push_back(fmt::format("fold{:02d}", f + 1));
    return names;
}

std::string cell_fold_note(const std::string& why, const CellFoldOptions& options) {
    return fmt::format("{}: cells are dealt into {} seeded folds stratified by label (seed {}), which stand in for donors; "
                       "splits, anchors and donor-level statistics are then over folds of cells, not donors, and say "
                       "nothing about new donors",
                       why, options.n_folds, options.seed);
}

} // namespace scx
