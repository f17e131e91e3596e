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

/// Shortest-path lengths from @p source to every node (+inf where unreachable).
Eigen::VectorXd shortest_paths_from(const WeightedAdjacency& adjacency, std::int64_t source);

/// All pairs (nodes x nodes, +inf where unreachable), one Dijkstra per source in parallel;
/// every row is computed alone, so the result does not depend on @p threads.
Eigen::MatrixXd all_shortest_paths(const WeightedAdjacency& adjacency, int threads = 0);

/// Connected component of every node (0-based, numbered in order of their first node).
std::vector<std::int64_t> connected_components(const WeightedAdjacency& adjacency);

} // namespace scx
