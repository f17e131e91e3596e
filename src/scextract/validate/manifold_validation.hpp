#pragma once
/// @file manifold_validation.hpp
/// @brief METHOD.md's validation of a manifold: does the adaptor's latent space order cells
/// by the ruler beyond what chance and cell-type identity give?
///
/// On operator features of labelled cells (one ruler stage per cell), with the anchor
/// variant of Stage 2 (anchors = donor x tissue x cell-type means):
///  - **ruler correlation**: Spearman of latent arc distances with ruler distances over all
///    pairs of anchors (in sample);
///  - **trustworthiness** (sklearn's definition, k = 15) between the standardised features and
///    the latent, on a seeded subsample of cells (it costs n^2) and on the anchors;
///  - **geodesic-ruler correlation**: Spearman of shortest-path lengths on the latent's
///    symmetrised kNN graph (edge length = arc distance) with ruler distances, over the
///    connected pairs of the same subsample;
///  - **holdout gates** (a random 20% of the donor x tissue x cell-type groups, leave-donor-out
///    folds, leave-branch-out):
///    the adaptor is fitted on the anchors of the remaining cells and scored zero-shot by the
///    ruler correlation over the pairs of held-out anchors (a held-out branch is scored on the
///    pairs of its own anchors that lie on different stages, see branch_distinct_stages). A
///    gate's score is the mean over its folds;
///  - **blocked permutation test**: stage labels shuffled among the cells of each
///    donor x tissue block; the statistic is the ruler correlation. On data the adaptor was
///    fitted to it is refitted for every permutation (a frozen fit makes the test
///    meaningless); on held-out data (a frozen encoder is given) it stays frozen. The gate is
///    the paper's "non-negotiable" one-sided p <= 0.001; with n permutations p cannot fall
///    below the floor 1 / (n + 1), so it needs n >= 999 (METHOD.md asks 2,000: 1/2001 = 0.0005);
///  - **dimension sweep**: the in-sample metrics and the random gate for every k asked for.
///
/// Everything is seeded; permutations and folds draw from their own streams, so results do
/// not depend on the thread count. No I/O: the CLI (`scextract validate`) builds the inputs.

#include "scextract/adapt/adaptor.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/extract/panel_features.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace scx {

/// Labelled cells as validation sees them. Every cell has a stage (drop unmapped cells first).
struct ManifoldData {
    RowMatrixF features;             ///< cells x D operator features, not standardised
    std::vector<std::int64_t> stage; ///< ruler stage per cell, >= 0
    std::vector<std::int64_t> donor; ///< donor code per cell (0-based)
    std::vector<std::int64_t> tissue; ///< tissue code per cell (0-based; all 0 for one tissue)
    std::vector<std::int64_t> label; ///< cell-type label code per cell (anchors group by it)

    [[nodiscard]] std::int64_t n_cells() const { return features.rows(); }
};

/// A fitted standardiser and adaptor, for held-out data (the permutation test keeps it frozen).
struct FrozenEncoder {
    Standardizer standardizer;
    Adaptor adaptor;
};

struct ManifoldValidationOptions {
    /// The adaptor of every fit (anchor variant; k is the main latent dimension). 400 Adam steps
    /// rather than a final fit's 1,000, as in the head scan: validation fits an adaptor ~20
    /// times plus once per permutation, and each full-batch step costs anchors^2.
    AdaptorOptions adaptor = [] {
        auto o = adaptor_options(AdaptorVariant::anchor);
        o.epochs = 400;
        return o;
    }();
    std::int64_t min_anchor_cells = 5; ///< METHOD.md: anchors are groups of >= 5 cells
    std::int64_t trust_k = 15;         ///< METHOD.md's k
    /// Cells in the seeded subsample for trustworthiness and the geodesic correlation
    /// (both cost n^2); at most 10,000.
    std::int64_t max_cells = 2000;
    std::int64_t geodesic_k = 10; ///< neighbours per cell of the latent kNN graph
    double trust_gate = 0.80;     ///< METHOD.md
    double holdout_gate = 0.20;   ///< METHOD.md: each holdout gate >= 0.20
    /// The permutation test passes when its one-sided p <= alpha; METHOD.md's gate, 0.001, is
    /// non-negotiable. p >= 1 / (permutations + 1), so fewer than 999 permutations cannot pass.
    double alpha = 0.001;
    double random_fraction = 0.2; ///< donor x tissue x cell-type groups held out by the random gate
    std::int64_t donor_folds = 5; ///< leave-donor-out folds (fewer when there are fewer donors)
    /// Leave-branch-out scores only pairs of held-out anchors on different stages, so a branch
    /// needs >= 3 stages in the data. Same-stage pairs (ruler distance 0) reward any clustering
    /// of cell types whatever the ruler says: with them the null ruler (stages shuffled within
    /// branch, validate/null_ruler.hpp) passed this gate on the planted test bed (false: all pairs).
    bool branch_distinct_stages = true;
    std::int64_t permutations = 2000; ///< METHOD.md: >= 2,000
    /// Adam steps of each refit in the permutation test. The observed statistic is then the
    /// ruler correlation of a fit with the same budget on the true labels, so observed and null
    /// come from the same procedure (0: adaptor.epochs).
    std::int64_t permutation_epochs = 100;
    std::vector<std::int64_t> dimensions = {3, 6, 10}; ///< the dimension sweep (empty: none)
    std::uint64_t seed = 42;
    int threads = 0;
    ProgressCallback progress; ///< (steps done, steps)
};

/// One holdout gate.
struct HoldoutGate {
    std::string name;                                 ///< "random", "leave_donor", "leave_branch"
    double score = std::numeric_limits<double>::quiet_NaN(); ///< mean over the folds
    double worst = std::numeric_limits<double>::quiet_NaN(); ///< lowest fold
    std::vector<std::pair<std::string, double>> folds; ///< fold name (held-out donors / branch) -> score
    std::vector<std::string> skipped;                 ///< folds that could not be scored, with why
    bool passed = false;                              ///< score >= holdout_gate
};

/// The blocked permutation test.
struct PermutationTest {
    std::int64_t permutations = 0;
    bool refit = true;   ///< the adaptor was refitted per permutation (false: frozen)
    std::int64_t epochs = 0; ///< Adam steps per refit (0 when frozen)
    double observed = 0; ///< the ruler correlation with the true labels (refit: of a fit with the same steps)
    double null_mean = 0, null_sd = 0, null_max = 0;
    double p_greater = 1;   ///< one-sided: (1 + #{null >= observed}) / (1 + n)
    double p_two_sided = 1; ///< min(1, 2 min(p_greater, p_less))
    double p_floor_greater = 1, p_floor_two_sided = 1; ///< 1 / (1 + n), 2 / (1 + n)
    double alpha = 0;     ///< the gate: p_greater <= alpha
    bool passed = false;  ///< p_greater <= alpha (false when not run: n = 0)
};

/// The in-sample metrics at one latent dimension.
struct DimensionSweepRow {
    std::int64_t k = 0;
    double ruler_correlation = 0, trustworthiness = 0, geodesic_correlation = 0, random_holdout = 0;
};

struct ManifoldValidationResult {
    std::int64_t cells = 0, anchors = 0, features = 0, k = 0;
    bool frozen = false;           ///< a frozen encoder was given
    double ruler_correlation = 0;  ///< in sample, over anchor pairs
    double trustworthiness = 0;    ///< on the cell subsample
    double trustworthiness_anchors = std::numeric_limits<double>::quiet_NaN(); ///< NaN when too few anchors
    std::int64_t subsample_cells = 0;
    double geodesic_correlation = 0;
    std::int64_t geodesic_pairs = 0; ///< connected pairs of the subsample
    std::vector<HoldoutGate> gates;
    PermutationTest permutation;
    std::vector<DimensionSweepRow> sweep;
    /// Trustworthiness, every holdout gate and the permutation test pass (a test not run, with
    /// 0 permutations, or one whose floor exceeds alpha fails).
    bool passed = false;
    std::vector<std::string> failures; ///< which criteria failed, in words
};

/// Validates the manifold the anchor adaptor finds on @p data. Without @p frozen the main
/// fit is on all of @p data and the permutation test refits; with it, the in-sample metrics
/// use the frozen encoder and the permutation test keeps it (the gates and the sweep fit
/// their own adaptors either way). Throws scx::Error when the data has fewer than two stages,
/// fewer than 3 anchors, inconsistent sizes, a frozen encoder of the wrong width, or alpha
/// outside (0, 1].
ManifoldValidationResult validate_manifold(const ManifoldData& data, const Ruler& ruler,
                                           const ManifoldValidationOptions& options, const FrozenEncoder* frozen = nullptr);

/// The fewest permutations whose floor 1 / (n + 1) is <= @p alpha (999 for 0.001): with fewer,
/// the permutation test cannot pass. Throws scx::Error when alpha is not in (0, 1].
std::int64_t min_permutations(double alpha);

/// The label-lookup control: every cell's features replaced by a fixed random code of its
/// cell-type label (standard normals of @p dimension, seeded per label). What passes on it
/// is mere cell-type identity.
ManifoldData label_lookup_control(const ManifoldData& data, std::int64_t dimension, std::uint64_t seed);

} // namespace scx
