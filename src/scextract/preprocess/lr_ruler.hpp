#pragma once
/// @file lr_ruler.hpp
/// @brief The second manifold's ruler (METHOD.md, "Second manifold"): ligand-receptor
/// interaction-path distances between the cell types of a data set.
///
/// The paper's ruler is known only as "square-root-weighted OmniPath ligand-receptor
/// interaction-path distances"; ours, documented in docs/cli.md#ruler, is:
///  1. a gene is **expressed** by a cell type when at least @ref LrRulerOptions::min_fraction
///     of the type's cells have a non-zero count of it (CellPhoneDB's default threshold, 10%);
///     a complex is expressed when every subunit is;
///  2. two different cell types a, b are **linked** by a resource pair (L, R) when a expresses L
///     and b expresses R, or b expresses L and a expresses R; n(a, b) counts the linking pairs;
///  3. the graph over cell types has an edge a - b of length 1 / sqrt(n(a, b)) wherever
///     n(a, b) > 0 (many pairs = close; the square root damps the large counts of hub types);
///  4. the ruler distance is the shortest-path length on that graph (core/shortest_paths.hpp).
/// The result is an ordinary Ruler with an explicit distance matrix (io/ruler_json.hpp writes it).

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/io/lr_resource.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// Detection fractions per cell type: what "expressed" is decided on.
struct CellTypeDetection {
    std::vector<std::string> cell_types; ///< distinct non-empty labels, in first-seen order
    std::vector<std::int64_t> n_cells;   ///< cells per type
    std::vector<std::string> genes;      ///< column symbols of the counts
    Eigen::MatrixXd fraction;            ///< types x genes: share of the type's cells with a count > 0
};

/// Counts the cells of each label with a non-zero count of each gene. Cells with an empty
/// label are left out. Throws scx::Error when the sizes disagree or no cell has a label.
CellTypeDetection detection_by_cell_type(const CsrMatrix& counts, const std::vector<std::string>& symbols,
                                         const std::vector<std::string>& labels);

struct LrRulerOptions {
    double min_fraction = 0.10; ///< detection share for "expressed" (CellPhoneDB's default threshold)
    /// Cell types with fewer cells are left out of the ruler (listed in the result): a
    /// detection share over a handful of cells is noise.
    std::int64_t min_cells = 10;
    /// Branches for the leave-branch gate: farthest-point groups of the ruler (first centre =
    /// the root, each next centre the type farthest from all centres so far; every type joins
    /// its nearest centre). Clamped to the number of types.
    std::int64_t branches = 3;
    std::string name = "ligand-receptor";
};

struct LrRulerResult {
    Ruler ruler;                        ///< stages = the cell types kept, explicit distances
    Eigen::MatrixXi pair_counts;        ///< stages x stages: n(a, b), 0 on the diagonal
    std::vector<std::string> dropped_types; ///< types with fewer than min_cells cells
    std::int64_t pairs_in_data = 0;     ///< resource pairs whose genes all are columns of the data
    std::int64_t pairs_linking = 0;     ///< pairs that link at least one pair of kept types
};

/// Builds the ruler. Throws scx::Error (one line, naming the problem) when min_fraction is not
/// in (0, 1], fewer than two cell types have min_cells cells, no resource pair has all its genes
/// in the data, a cell type has no interaction with any other (named; lower the threshold or
/// leave the type out), the interaction graph falls apart (components named), or the ruler
/// fails check_ruler() (e.g. two labels that normalise alike).
LrRulerResult build_lr_ruler(const LrResource& resource, const CellTypeDetection& detection, const LrRulerOptions& options = {});

} // namespace scx
