#include "scextract/validate/null_ruler.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/core/shuffle.hpp"
#include "scextract/stats/statistics.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace scx {

namespace {

/// Stage indices per branch: declared branches first (declaration order), then any branch a
/// stage names but the ruler does not declare (first-seen order); empty branches dropped.
std::vector<std::pair<std::string, std::vector<std::int64_t>>> stages_by_branch(const Ruler& ruler) {
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> groups;
    for (const auto& b : ruler.branches) groups.emplace_back(b, std::vector<std::int64_t>{});
    for (std::size_t s = 0; s < ruler.stages.size(); ++s) {
        const auto& b = ruler.stages[s].branch;
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == b; });
        if (it == groups.end()) it = groups.insert(groups.end(), {b, {}});
        it->second.push_back(static_cast<std::int64_t>(s));
    }
    std::erase_if(groups, [](const auto& g) { return g.second.empty(); });
    return groups;
}

} // namespace

NullRulerResult null_ruler(const Ruler& ruler, const NullRulerOptions& options) {
    const auto n = static_cast<std::int64_t>(ruler.stages.size());
    if (n == 0) throw Error(fmt::format("null ruler: ruler '{}' has no stages", ruler.name));
    const auto root = ruler.stage_index(ruler.root);
    if (root < 0)
        throw Error(fmt::format("null ruler: root '{}' of ruler '{}' is not a stage", ruler.root, ruler.name));
    for (const auto& [a, b] : ruler.edges)
        if (a < 0 || b < 0 || a >= n || b >= n)
            throw Error(fmt::format("null ruler: ruler '{}' has an edge ({}, {}) out of range", ruler.name, a, b));
    const Eigen::MatrixXd distance = ruler_distances(ruler);

    NullRulerResult r;
    r.node.resize(static_cast<std::size_t>(n));
    std::iota(r.node.begin(), r.node.end(), 0);
    std::uint64_t stream = 0;
    for (const auto& [branch, members] : stages_by_branch(ruler)) {
        // a stream per branch, so one branch's draw does not depend on another's size
        Rng rng(options.seed, 9000 + stream++);
        if (members.size() == 1) {
            r.fixed_branches.push_back(branch);
            continue;
        }
        auto nodes = members;
        shuffle_in_place(nodes, rng);
        for (std::size_t t = 0; t < members.size(); ++t) r.node[static_cast<std::size_t>(members[t])] = nodes[t];
    }
    std::vector<std::int64_t> stage_at(static_cast<std::size_t>(n)); // inverse: the stage now on each node
    for (std::int64_t i = 0; i < n; ++i) stage_at[static_cast<std::size_t>(r.node[i])] = i;
    for (std::int64_t i = 0; i < n; ++i) r.moved += r.node[i] != i;

    Ruler& out = r.ruler;
    out = ruler;
    out.name = ruler.name + "-null";
    out.description = fmt::format("null control of '{}': stages shuffled within each branch over its nodes (seed {})",
                                  ruler.name, options.seed);
    for (std::int64_t i = 0; i < n; ++i) out.stages[i].depth = ruler.stages[r.node[i]].depth;
    for (auto& [a, b] : out.edges) a = stage_at[a], b = stage_at[b];
    out.root = ruler.stages[stage_at[root]].name;
    if (ruler.explicit_distances) {
        const auto& d = *ruler.explicit_distances;
        Eigen::MatrixXd moved(n, n);
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t j = 0; j < n; ++j) moved(i, j) = d(r.node[i], r.node[j]);
        out.explicit_distances = std::move(moved);
    }

    std::vector<double> before, after;
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = i + 1; j < n; ++j) {
            before.push_back(distance(i, j));
            after.push_back(distance(r.node[i], r.node[j])); // = ruler_distances(out)(i, j)
        }
    if (before.size() >= 2) r.distance_spearman = spearman(before, after);
    return r;
}

} // namespace scx
