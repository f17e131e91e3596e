// Dijkstra over a kNN-like graph, the inner loop of Palantir's waypoint distances (issue 21):
// ShortestPathGraph (compressed rows, decrease-key heap, breadth-first numbering) against the
// textbook lazy priority queue over adjacency lists, on the same graph with the cells in a
// random order, as cells come in a file.
//   build/bench/shortest_paths_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include "scextract/core/shortest_paths.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <queue>
#include <random>

namespace {

// n cells on a noisy curve, each joined to its 15 nearest along it on either side (a kNN
// graph of a 1-D manifold, both directions listed), numbered in a random order.
const scx::WeightedAdjacency& curve_graph(std::int64_t n) {
    static std::int64_t made = -1;
    static scx::WeightedAdjacency adj;
    if (made == n) return adj;
    std::mt19937_64 gen(7);
    std::vector<std::int64_t> id(static_cast<std::size_t>(n));
    std::iota(id.begin(), id.end(), 0);
    std::shuffle(id.begin(), id.end(), gen);
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    adj.assign(static_cast<std::size_t>(n), {});
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = i + 1; j <= std::min(n - 1, i + 15); ++j) {
            const double w = static_cast<double>(j - i) * jitter(gen);
            adj[static_cast<std::size_t>(id[i])].emplace_back(id[j], w);
            adj[static_cast<std::size_t>(id[j])].emplace_back(id[i], w);
        }
    made = n;
    return adj;
}

void BM_ShortestPathGraph(benchmark::State& state) {
    const auto& adj = curve_graph(state.range(0));
    const scx::ShortestPathGraph graph(adj);
    std::vector<double> out(adj.size());
    std::int64_t source = 0;
    for (auto _ : state) {
        graph.distances_from(source, out.data());
        benchmark::DoNotOptimize(out.data());
        source = (source + 7919) % graph.size();
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_LazyDijkstraOnLists(benchmark::State& state) {
    const auto& adj = curve_graph(state.range(0));
    std::vector<double> dist(adj.size());
    std::int64_t source = 0;
    using Item = std::pair<double, std::int64_t>;
    for (auto _ : state) {
        std::fill(dist.begin(), dist.end(), std::numeric_limits<double>::infinity());
        std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
        dist[static_cast<std::size_t>(source)] = 0.0;
        queue.emplace(0.0, source);
        while (!queue.empty()) {
            const auto [d, v] = queue.top();
            queue.pop();
            if (d > dist[static_cast<std::size_t>(v)]) continue;
            for (const auto& [u, w] : adj[static_cast<std::size_t>(v)])
                if (d + w < dist[static_cast<std::size_t>(u)]) {
                    dist[static_cast<std::size_t>(u)] = d + w;
                    queue.emplace(d + w, u);
                }
        }
        benchmark::DoNotOptimize(dist.data());
        source = (source + 7919) % static_cast<std::int64_t>(adj.size());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_ShortestPathGraph)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LazyDijkstraOnLists)->Arg(100000)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
