#include "scextract/bench/per_donor_pseudotime.hpp"

#include "scextract/core/category_codes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace scx {

namespace {
constexpr double kUnreachable = 2.0; // above every reachable cell's pseudotime (at most 1)
}

std::int64_t pseudotime_root_cell(const BenchCells& cells, std::span<const std::int64_t> rows, const RowMatrixF& expression) {
    double earliest = std::numeric_limits<double>::infinity();
    for (const auto r : rows)
        if (cells.stage[static_cast<std::size_t>(r)] >= 0) earliest = std::min(earliest, cells.depth[static_cast<std::size_t>(r)]);
    std::vector<std::int64_t> candidates;
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (cells.stage[static_cast<std::size_t>(rows[i])] >= 0 && cells.depth[static_cast<std::size_t>(rows[i])] == earliest)
            candidates.push_back(static_cast<std::int64_t>(i));
    if (candidates.empty()) return -1;
    std::int64_t best = candidates.front();
    double best_sum = std::numeric_limits<double>::infinity();
    for (const auto a : candidates) {
        double sum = 0.0;
        for (const auto b : candidates)
            sum += std::sqrt((expression.row(a) - expression.row(b)).cast<double>().squaredNorm());
        if (sum < best_sum) {
            best_sum = sum;
            best = a;
        }
    }
    return best;
}

Eigen::VectorXd per_donor_pseudotime(const BenchCells& cells, std::span<const std::int64_t> test, std::int64_t min_cells,
                                     const DonorPseudotime& tool, int threads) {
    Eigen::VectorXd out = Eigen::VectorXd::Constant(static_cast<Eigen::Index>(test.size()), std::numeric_limits<double>::quiet_NaN());
    std::vector<std::int64_t> donor_of(test.size());
    for (std::size_t i = 0; i < test.size(); ++i) donor_of[i] = cells.donor[static_cast<std::size_t>(test[i])];
    const auto groups = codes_in_order_seen(donor_of);
    const std::int64_t n_groups = groups.empty() ? 0 : *std::max_element(groups.begin(), groups.end()) + 1;
    for (std::int64_t g = 0; g < n_groups; ++g) {
        std::vector<std::int64_t> positions, rows;
        for (std::size_t i = 0; i < test.size(); ++i)
            if (groups[i] == g) {
                positions.push_back(static_cast<std::int64_t>(i));
                rows.push_back(test[i]);
            }
        if (static_cast<std::int64_t>(rows.size()) < min_cells) continue;
        const RowMatrixF x = bench_panel_expression(cells, rows, threads);
        const auto root = pseudotime_root_cell(cells, rows, x);
        if (root < 0) continue;
        const Eigen::VectorXd t = tool(positions, x, root, threads);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const double v = t(static_cast<Eigen::Index>(i));
            out(positions[i]) = std::isfinite(v) ? v : kUnreachable;
        }
    }
    return out;
}

} // namespace scx
