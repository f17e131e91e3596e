#pragma once
/// @file shortest_paths.hpp
/// @brief Dijkstra shortest paths on an undirected weighted graph given as adjacency lists:
/// the one implementation behind Palantir's kNN-graph distances, the latent geodesics of
/// manifold validation, Isomap / geodesic MDS and the ligand-receptor ruler.

#include <Eigen/Dense>

#include <cstdint>
#include <utility>
#include <vector>

namespace scx {

/// Undirected weighted graph: adjacency[v] lists (neighbour, edge length >= 0). Each edge is
/// listed from both ends; repeated edges are allowed (the shorter wins).
using WeightedAdjacency = std::vector<std::vector<std::pair<std::int64_t, double>>>;

/// The same graph in compressed rows, each node's repeated edges merged into one (the shortest
/// kept), for many Dijkstra runs over it: contiguous edges, a heap with decrease-key (a node
/// is popped once), and the nodes renumbered in breadth-first order so that neighbours sit
/// near each other in memory (cells come in file order, which kNN neighbours ignore). The
/// lengths are exactly those of the adjacency lists, in the caller's numbering (Dijkstra's
/// result does not depend on the order in which ties are settled or nodes are numbered).
class ShortestPathGraph {
  public:
    /// Throws scx::Error on a neighbour outside the graph, a negative or NaN length, or more
    /// than 2^31 - 1 nodes.
    explicit ShortestPathGraph(const WeightedAdjacency& adjacency);

    [[nodiscard]] std::int64_t size() const { return static_cast<std::int64_t>(offset_.size()) - 1; }
    /// Edges stored, after merging repeats (each undirected edge counts from both ends).
    [[nodiscard]] std::int64_t edge_count() const { return offset_.back(); }
    /// Shortest-path lengths from @p source into @p out[0, size()) (+inf where unreachable).
    void distances_from(std::int64_t source, double* out) const;

  private:
    std::vector<std::int64_t> offset_{0}; ///< internal numbering from here on
    std::vector<std::int32_t> target_;
    std::vector<double> length_;
    std::vector<std::int32_t> internal_of_; ///< caller's node -> internal node
    std::vector<std::int32_t> caller_of_;   ///< internal node -> caller's node
};

/// Shortest-path lengths from @p source to every node (+inf where unreachable).
Eigen::VectorXd shortest_paths_from(const WeightedAdjacency& adjacency, std::int64_t source);
/// The same on a graph built once.
Eigen::VectorXd shortest_paths_from(const ShortestPathGraph& graph, std::int64_t source);

/// All pairs (nodes x nodes, +inf where unreachable), one Dijkstra per source in parallel;
/// every row is computed alone, so the result does not depend on @p threads.
Eigen::MatrixXd all_shortest_paths(const WeightedAdjacency& adjacency, int threads = 0);

/// Connected component of every node (0-based, numbered in order of their first node).
std::vector<std::int64_t> connected_components(const WeightedAdjacency& adjacency);

} // namespace scx
