#pragma once
/// @file null_ruler.hpp
/// @brief The null-ruler control of `validate` (METHOD.md, "What a public reconstruction
/// adds": a null ruler, stages shuffled within branch, must fail the gates).
///
/// The null ruler keeps the graph and moves the stages over its nodes: within each branch the
/// stages are permuted (seeded) over that branch's nodes, so stage i takes the depth, edges
/// and explicit-distance row of the node of stage node[i]. A stage keeps its name, description,
/// branch and labels, so a dataset's labels map to the same stage indices through both rulers
/// (the data's stage codes stay valid) while the distances between them change. Every branch
/// keeps its size and the graph keeps its shape (same depths, degrees and distances as a
/// multiset); only which cell type sits where changes. The root is shuffled like any stage:
/// the stage that lands on the root's node becomes the root (in the default ruler HSC shares
/// the stem_progenitor branch with MPP, CMP, CLP and GMP, so the stem may be entered at any of
/// them). A branch of one stage cannot change (nk in the default ruler); it is listed in
/// NullRulerResult::fixed_branches.

#include "scextract/core/ruler.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace scx {

struct NullRulerOptions {
    std::uint64_t seed = 42; ///< each branch draws from its own stream (seed, declaration order)
};

struct NullRulerResult {
    /// The shuffled ruler: name "<name>-null", the same stages, branches and labels; depths,
    /// edges, root and any explicit distances moved with the nodes.
    Ruler ruler;
    /// node[i]: the stage of the input whose place in the graph stage i now takes (a
    /// permutation that maps every branch onto itself).
    std::vector<std::int64_t> node;
    std::int64_t moved = 0;                  ///< stages with node[i] != i
    std::vector<std::string> fixed_branches; ///< branches of a single stage (they cannot move)
    /// Spearman of the null with the input's distances over the stage pairs i < j (1 when the
    /// shuffle changed no distance; NaN when the distances are constant).
    double distance_spearman = std::numeric_limits<double>::quiet_NaN();
};

/// Shuffles the stages of @p ruler within each branch over that branch's nodes (see the file
/// comment). The result is a function of the ruler and the seed only. Throws scx::Error when the
/// ruler has no stages, the root is not a stage, an edge index is out of range, or its
/// distances cannot be computed (ruler_distances()).
NullRulerResult null_ruler(const Ruler& ruler, const NullRulerOptions& options = {});

} // namespace scx
