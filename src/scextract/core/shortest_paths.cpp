#include "scextract/core/shortest_paths.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace scx {

ShortestPathGraph::ShortestPathGraph(const WeightedAdjacency& adjacency) {
    const auto n = static_cast<std::int64_t>(adjacency.size());
    if (n > std::numeric_limits<std::int32_t>::max())
        throw Error(fmt::format("shortest paths: {} nodes, more than 2^31 - 1", n));
    for (std::int64_t v = 0; v < n; ++v)
        for (const auto& [u, w] : adjacency[static_cast<std::size_t>(v)]) {
            if (u < 0 || u >= n) throw Error(fmt::format("shortest paths: node {} has neighbour {} outside the {}-node graph", v, u, n));
            if (!(w >= 0.0)) throw Error(fmt::format("shortest paths: edge {} - {} has length {}", v, u, w));
        }
    // breadth-first numbering, component by component from the lowest unnumbered node
    internal_of_.assign(static_cast<std::size_t>(n), -1);
    caller_of_.reserve(static_cast<std::size_t>(n));
    for (std::int64_t s = 0; s < n; ++s) {
        if (internal_of_[static_cast<std::size_t>(s)] >= 0) continue;
        std::size_t head = caller_of_.size();
        internal_of_[static_cast<std::size_t>(s)] = static_cast<std::int32_t>(caller_of_.size());
        caller_of_.push_back(static_cast<std::int32_t>(s));
        for (; head < caller_of_.size(); ++head)
            for (const auto& [u, w] : adjacency[static_cast<std::size_t>(caller_of_[head])])
                if (internal_of_[static_cast<std::size_t>(u)] < 0) {
                    internal_of_[static_cast<std::size_t>(u)] = static_cast<std::int32_t>(caller_of_.size());
                    caller_of_.push_back(static_cast<std::int32_t>(u));
                }
    }
    offset_.reserve(static_cast<std::size_t>(n + 1));
    std::vector<std::pair<std::int32_t, double>> edges;
    for (const auto v : caller_of_) {
        edges.clear();
        for (const auto& [u, w] : adjacency[static_cast<std::size_t>(v)]) edges.emplace_back(internal_of_[static_cast<std::size_t>(u)], w);
        std::sort(edges.begin(), edges.end()); // by neighbour, then length: the first of a run is the shortest
        for (std::size_t e = 0; e < edges.size(); ++e) {
            if (e > 0 && edges[e].first == edges[e - 1].first) continue;
            target_.push_back(edges[e].first);
            length_.push_back(edges[e].second);
        }
        offset_.push_back(static_cast<std::int64_t>(target_.size()));
    }
}

namespace {

/// A 4-ary min-heap of node ids keyed by their tentative lengths, with decrease-key.
class NodeHeap {
  public:
    static constexpr std::int32_t kAbsent = -1, kSettled = -2;
    NodeHeap(std::int64_t n, const double* key) : position_(static_cast<std::size_t>(n), kAbsent), key_(key) {}
    [[nodiscard]] bool empty() const { return heap_.empty(); }
    [[nodiscard]] std::int32_t position(std::int32_t v) const { return position_[static_cast<std::size_t>(v)]; }
    void push(std::int32_t v) {
        heap_.push_back(v);
        sift_up(heap_.size() - 1);
    }
    /// After key[v] went down.
    void decreased(std::int32_t v) { sift_up(static_cast<std::size_t>(position(v))); }
    std::int32_t pop() {
        const std::int32_t top = heap_.front();
        const std::int32_t last = heap_.back();
        heap_.pop_back();
        if (!heap_.empty()) {
            heap_.front() = last;
            sift_down(0);
        }
        position_[static_cast<std::size_t>(top)] = kSettled;
        return top;
    }

  private:
    void place(std::size_t i, std::int32_t v) {
        heap_[i] = v;
        position_[static_cast<std::size_t>(v)] = static_cast<std::int32_t>(i);
    }
    void sift_up(std::size_t i) {
        const std::int32_t v = heap_[i];
        const double k = key_[v];
        while (i > 0) {
            const std::size_t parent = (i - 1) / 4;
            if (key_[heap_[parent]] <= k) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, v);
    }
    void sift_down(std::size_t i) {
        const std::int32_t v = heap_[i];
        const double k = key_[v];
        const std::size_t n = heap_.size();
        while (true) {
            const std::size_t first = 4 * i + 1;
            if (first >= n) break;
            std::size_t best = first;
            for (std::size_t c = first + 1; c < std::min(first + 4, n); ++c)
                if (key_[heap_[c]] < key_[heap_[best]]) best = c;
            if (key_[heap_[best]] >= k) break;
            place(i, heap_[best]);
            i = best;
        }
        place(i, v);
    }

    std::vector<std::int32_t> heap_;
    std::vector<std::int32_t> position_;
    const double* key_;
};

} // namespace

void ShortestPathGraph::distances_from(std::int64_t source, double* out) const {
    const std::int64_t n = size();
    if (source < 0 || source >= n) throw Error(fmt::format("shortest paths: source {} is not a node of a {}-node graph", source, n));
    thread_local std::vector<double> scratch; // lengths in the internal numbering
    scratch.assign(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
    double* dist = scratch.data();
    NodeHeap heap(n, dist);
    const std::int32_t start = internal_of_[static_cast<std::size_t>(source)];
    dist[start] = 0.0;
    heap.push(start);
    // local pointers: the stores into dist would otherwise make the compiler reload the
    // vectors' data pointers for every edge
    const std::int64_t* const offset = offset_.data();
    const std::int32_t* const target = target_.data();
    const double* const length = length_.data();
    while (!heap.empty()) {
        const std::int32_t v = heap.pop();
        const double dv = dist[v];
        for (std::int64_t e = offset[v], end = offset[v + 1]; e < end; ++e) {
            const std::int32_t u = target[e];
            const double candidate = dv + length[e];
            if (!(candidate < dist[u])) continue;
            dist[u] = candidate;
            if (heap.position(u) == NodeHeap::kAbsent) heap.push(u);
            else heap.decreased(u);
        }
    }
    for (std::int64_t v = 0; v < n; ++v) out[caller_of_[static_cast<std::size_t>(v)]] = dist[v];
}

Eigen::VectorXd shortest_paths_from(const ShortestPathGraph& graph, std::int64_t source) {
    Eigen::VectorXd dist(graph.size());
    graph.distances_from(source, dist.data());
    return dist;
}

Eigen::VectorXd shortest_paths_from(const WeightedAdjacency& adjacency, std::int64_t source) {
    return shortest_paths_from(ShortestPathGraph(adjacency), source);
}

Eigen::MatrixXd all_shortest_paths(const WeightedAdjacency& adjacency, int threads) {
    const ShortestPathGraph graph(adjacency);
    const auto n = graph.size();
    Eigen::MatrixXd out(n, n); // symmetric graph: column s holds the lengths from s
    parallel_for(n, 16, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t s = begin; s < end; ++s) graph.distances_from(s, out.col(s).data());
    });
    out.transposeInPlace(); // row s from source s, as before, exactly
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
