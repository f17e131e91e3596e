#include "scextract/core/shortest_paths.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <functional>
#include <limits>
#include <queue>

#include <fmt/format.h>

namespace scx {

Eigen::VectorXd shortest_paths_from(const WeightedAdjacency& adjacency, std::int64_t source) {
    const auto n = static_cast<std::int64_t>(adjacency.size());
    if (source < 0 || source >= n) throw Error(fmt::format("shortest paths: source {} is not a node of a {}-node graph", source, n));
    Eigen::VectorXd dist = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::infinity());
    using Item = std::pair<double, std::int64_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
    dist(source) = 0.0;
    queue.emplace(0.0, source);
    while (!queue.empty()) {
        const auto [d, v] = queue.top();
        queue.pop();
        if (d > dist(v)) continue;
        for (const auto& [u, w] : adjacency[static_cast<std::size_t>(v)])
            if (d + w < dist(u)) {
                dist(u) = d + w;
                queue.emplace(dist(u), u);
            }
    }
    return dist;
}

Eigen::MatrixXd all_shortest_paths(const WeightedAdjacency& adjacency, int threads) {
    const auto n = static_cast<std::int64_t>(adjacency.size());
    Eigen::MatrixXd out(n, n);
    parallel_for(n, 16, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t s = begin; s < end; ++s) out.row(s) = shortest_paths_from(adjacency, s).transpose();
    });
    return out;
}

std::vector<std::int64_t> connected_components(const WeightedAdjacency& adjacency) {
    const auto n = static_cast<std::int64_t>(adjacency.size());
    std::vector<std::int64_t> component(static_cast<std::size_t>(n), -1);
    std::int64_t next = 0;
    for (std::int64_t s = 0; s < n; ++s) {
        if (component[s] >= 0) continue;
        std::vector<std::int64_t> stack{s};
        component[s] = next;
        while (!stack.empty()) {
            const auto v = stack.back();
            stack.pop_back();
            for (const auto& [u, w] : adjacency[static_cast<std::size_t>(v)])
                if (component[u] < 0) component[u] = next, stack.push_back(u);
        }
        ++next;
    }
    return component;
}

} // namespace scx
