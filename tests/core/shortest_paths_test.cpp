#include "scextract/core/error.hpp"
#include "scextract/core/shortest_paths.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <random>

namespace scx {
namespace {

// Textbook Dijkstra with a lazy priority queue over the adjacency lists as given.
Eigen::VectorXd reference_dijkstra(const WeightedAdjacency& adj, std::int64_t source) {
    Eigen::VectorXd dist = Eigen::VectorXd::Constant(static_cast<Eigen::Index>(adj.size()), std::numeric_limits<double>::infinity());
    using Item = std::pair<double, std::int64_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
    dist(source) = 0.0;
    queue.emplace(0.0, source);
    while (!queue.empty()) {
        const auto [d, v] = queue.top();
        queue.pop();
        if (d > dist(v)) continue;
        for (const auto& [u, w] : adj[static_cast<std::size_t>(v)])
            if (d + w < dist(u)) {
                dist(u) = d + w;
                queue.emplace(dist(u), u);
            }
    }
    return dist;
}

// A kNN-like random graph: every edge from both ends, mutual edges listed twice, a repeated
// edge with a longer length, ties (lengths on a coarse grid) and a node nobody reaches.
WeightedAdjacency random_graph(std::int64_t n, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<std::int64_t> node(0, n - 2);
    std::uniform_int_distribution<int> grid(0, 40);
    WeightedAdjacency adj(static_cast<std::size_t>(n));
    for (std::int64_t v = 0; v + 1 < n; ++v)
        for (int j = 0; j < 6; ++j) {
            const auto u = node(gen);
            const double w = 0.125 * grid(gen);
            adj[static_cast<std::size_t>(v)].emplace_back(u, w);
            adj[static_cast<std::size_t>(u)].emplace_back(v, w);
            if (j == 0) adj[static_cast<std::size_t>(v)].emplace_back(u, w + 1.0); // a longer repeat
        }
    return adj; // node n - 1 is isolated
}

TEST(ShortestPathGraph, SameLengthsAsTextbookDijkstra) {
    const auto adj = random_graph(2000, 3);
    const ShortestPathGraph graph(adj);
    EXPECT_EQ(graph.size(), 2000);
    std::int64_t listed = 0;
    for (const auto& edges : adj) listed += static_cast<std::int64_t>(edges.size());
    EXPECT_LT(graph.edge_count(), listed); // repeats merged
    for (const std::int64_t s : {0, 17, 999, 1998}) {
        const Eigen::VectorXd expected = reference_dijkstra(adj, s);
        const Eigen::VectorXd got = shortest_paths_from(graph, s);
        EXPECT_TRUE(got == expected) << "source " << s; // bit for bit, +inf included
        EXPECT_TRUE(shortest_paths_from(adj, s) == expected);
        EXPECT_TRUE(std::isinf(got(1999)));
    }
}

TEST(ShortestPathGraph, AllPairsIsOneDijkstraPerRowForAnyThreadCount) {
    const auto adj = random_graph(300, 11);
    const Eigen::MatrixXd one = all_shortest_paths(adj, 1);
    EXPECT_TRUE(one == all_shortest_paths(adj, 3));
    for (const std::int64_t s : {0, 150, 299}) EXPECT_TRUE(Eigen::VectorXd(one.row(s).transpose()) == reference_dijkstra(adj, s));
}

TEST(ShortestPathGraph, RefusesBadGraphs) {
    WeightedAdjacency adj(3);
    adj[0].emplace_back(5, 1.0);
    EXPECT_THROW(ShortestPathGraph{adj}, Error);
    adj[0] = {{1, -1.0}};
    EXPECT_THROW(ShortestPathGraph{adj}, Error);
    adj[0] = {{1, std::nan("")}};
    EXPECT_THROW(ShortestPathGraph{adj}, Error);
    adj[0] = {{1, 1.0}};
    const ShortestPathGraph ok(adj);
    double out[3];
    EXPECT_THROW(ok.distances_from(3, out), Error);
    EXPECT_THROW(shortest_paths_from(adj, -1), Error);
}

} // namespace
} // namespace scx
