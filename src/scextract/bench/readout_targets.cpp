#include "scextract/bench/readout_targets.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace scx {

ReadoutTargets readout_targets(const BenchCells& cells, std::span<const std::int64_t> rows, std::int64_t min_binary_cells) {
    if (cells.ruler == nullptr) throw Error("readouts: the benchmark cells have no ruler");
    ReadoutTargets t;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto r = rows[i];
        if (r < 0 || r >= cells.n_cells())
            throw Error(fmt::format("readouts: row {} outside the {} cells", r, cells.n_cells()));
        if (cells.stage[static_cast<std::size_t>(r)] >= 0) t.keep.push_back(static_cast<Eigen::Index>(i));
    }
    const auto m = static_cast<Eigen::Index>(t.keep.size());
    if (m < 2) throw Error(fmt::format("readouts: {} training cells have a ruler stage; need at least 2", m));
    const auto cell_of = [&](Eigen::Index i) { return static_cast<std::size_t>(rows[static_cast<std::size_t>(t.keep[static_cast<std::size_t>(i)])]); };
    t.depth.resize(m);
    t.stage.resize(static_cast<std::size_t>(m));
    t.branch.resize(static_cast<std::size_t>(m));
    for (Eigen::Index i = 0; i < m; ++i) {
        t.depth[i] = cells.depth[cell_of(i)];
        t.stage[static_cast<std::size_t>(i)] = cells.stage[cell_of(i)];
        t.branch[static_cast<std::size_t>(i)] = cells.branch[cell_of(i)];
    }
    const auto need = std::max<std::int64_t>(1, min_binary_cells); // a side without cells cannot be fitted
    for (const auto& task : cells.binary_tasks) {
        BinaryTarget b;
        b.label.resize(static_cast<std::size_t>(m));
        std::int64_t count[2] = {0, 0};
        for (Eigen::Index i = 0; i < m; ++i) {
            b.label[static_cast<std::size_t>(i)] = task.label[cell_of(i)];
            if (b.label[static_cast<std::size_t>(i)] >= 0) ++count[b.label[static_cast<std::size_t>(i)]];
        }
        b.trained = count[0] >= need && count[1] >= need;
        if (!b.trained)
            t.skipped.push_back(fmt::format("{}: {} {} and {} {} training cells (need {} each)", task.name, count[0],
                                            task.negative_class, count[1], task.positive_class, need));
        t.binary.push_back(std::move(b));
    }
    return t;
}

RowMatrixF zero_nonfinite_rows(RowMatrixF latent) {
    for (Eigen::Index i = 0; i < latent.rows(); ++i)
        if (!latent.row(i).allFinite()) latent.row(i).setZero();
    return latent;
}

std::vector<std::int64_t> present_codes(const std::vector<std::int64_t>& y) {
    std::set<std::int64_t> s;
    for (const auto v : y)
        if (v >= 0) s.insert(v);
    return {s.begin(), s.end()};
}

} // namespace scx
