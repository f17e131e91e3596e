#pragma once
/// @file simulator.hpp
/// @brief A donor-aware single-cell simulator on a ruler's stage graph: the ground truth
/// every test and benchmark of the pipeline can be scored against.
///
/// Cells are placed on the stage graph's edges (parent -> child, parent one hop closer
/// to the root) with a continuous progress t in [0, 1); a cell's stage is the nearer end
/// of its edge and its true developmental position is depth(parent) + t. Expression is a
/// log-linear model on real gene symbols:
///   log rate_g = base_g + sum_s a_s e_gs + sum_b a_b f_gb + donor_gd
/// with stage programs (a_parent = 1 - t, a_child = t, so expression changes continuously
/// along each edge), branch programs that ramp up with depth inside their branch, and
/// per-donor gene effects. Counts are negative binomial around library size x
/// softmax(log rate). Donors shift the composition (and donor x tissue does); tissues
/// favour progenitors (bone marrow) or mature cells (blood).
///
/// The null model keeps the same cell types, donors, tissues and composition but removes
/// the developmental structure: expression comes from an independent draw of a stage
/// (so labels carry no information about expression), with no progress along edges and
/// no branch programs (so the expression itself holds no ordering along the graph).
///
/// Everything a cell gets is drawn from its own random stream (seed, cell index), so the
/// result is the same for any thread count and any block size, and blocks of cells can
/// be generated and written one at a time.

#include "scextract/core/csr_matrix.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/simulate/calibration.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scx {

/// Where a calibrated bed's cells sit.
enum class SimulationComposition {
    graph,     ///< on every edge of the ruler, with progress along it (the developmental bed)
    reference, ///< at the stages the reference has, in its proportions (the reference's population, for realism checks)
};

struct SimulationOptions {
    std::int64_t n_cells = 10000;
    std::int64_t n_donors = 8;
    std::int64_t n_genes = 2000;  ///< genes in the output (real symbols from the vocabulary)
    /// Index of the first cell: cells are [cell_offset, cell_offset + n_cells) of the design's
    /// stream, so the same seed with another offset gives new cells of the same design
    /// (same genes, programs and donors), e.g. a query set for a fitted algorithm.
    std::int64_t cell_offset = 0;
    std::uint64_t seed = 42;       ///< cells: placement, library sizes and counts
    /// Genes, programs and calibration. Unset: the same as @ref seed, and donors are drawn
    /// from it too (the layout before the two were split). When set, donors (sizes, gene
    /// effects, composition) come from @ref seed and are named "s<seed>_D01"...: a new
    /// seed over one design gives new donors and cells on the same genes and programs, so an
    /// algorithm fitted on one file finds its whole panel in another.
    std::optional<std::uint64_t> design_seed;
    bool null_model = false;      ///< remove the developmental structure (negative control)
    std::vector<std::string> tissues = {"bone_marrow", "blood"};
    std::int64_t stage_program_size = 12;  ///< genes per stage program (known markers first)
    std::int64_t branch_program_size = 15; ///< genes per branch program
    double program_effect_min = 1.5;       ///< log-fold effect of a program gene, uniform in [min, max]
    double program_effect_max = 3.0;
    double library_size_mean = 4000;       ///< median total counts per cell
    double library_size_sdlog = 0.35;      ///< sd of log library size
    double nb_theta = 8.0;                 ///< negative binomial inverse dispersion
    double donor_gene_sd = 0.25;           ///< sd of per-donor gene log effects
    double donor_composition_sd = 0.5;     ///< sd of per-donor log composition weights
    double tissue_depth_slope = 0.35;      ///< log composition change per depth step (bone marrow -, blood +)
    /// Calibrated designs only: where cells sit, and how strongly the reference's
    /// within-type components are drawn (1 = as estimated, 0 = independent genes).
    SimulationComposition composition = SimulationComposition::graph;
    double within_type_scale = 1.0;
    /// Where the ruler came from (its file path), named in errors about it; empty: the
    /// ruler's name field. Not part of the design.
    std::string ruler_source;
};

/// One gene of the simulation.
struct SimulatedGene {
    std::string symbol;
    std::string role;    ///< "marker", "stage_program", "branch_program", "housekeeping", "uninformative"
    std::string program; ///< "stage:<name>" / "branch:<name>" for program genes, else empty
    double base = 0;     ///< log-scale baseline
};

/// Everything fixed before any cell is drawn: genes, programs, effects, donors.
struct SimulationDesign {
    SimulationOptions options;
    Ruler ruler;
    std::vector<SimulatedGene> genes;
    /// Program name -> gene indices ("stage:<stage>", "branch:<branch>").
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> programs;
    /// Per edge (child stage c > root): parent stage index; -1 for the root.
    std::vector<std::int64_t> parent;
    /// Effects per stage: (gene, log-fold) pairs; likewise per branch.
    std::vector<std::vector<std::pair<std::int64_t, double>>> stage_effects, branch_effects;
    std::vector<std::int64_t> branch_of_stage;  ///< index into ruler.branches
    std::vector<std::int64_t> branch_max_depth; ///< deepest stage of each branch
    std::vector<std::string> donors;
    std::vector<double> donor_weight;                     ///< relative donor sizes
    std::vector<std::vector<double>> donor_gene_effect;   ///< [donor][gene]
    std::vector<std::vector<double>> composition;         ///< [donor * tissues + tissue][child stage], normalised
    std::vector<std::string> stage_labels;                ///< cell_type label written for each stage

    /// Calibrated designs only (design_calibrated_simulation()); empty otherwise.
    std::vector<std::vector<double>> stage_log_profile;   ///< [stage][gene] log proportion of counts
    std::vector<double> gene_theta;                       ///< per gene NB inverse dispersion
    std::vector<double> log_library_quantiles;            ///< library sizes, as an inverse CDF
    std::vector<double> donor_log_library;                ///< per donor log library shift
    std::vector<std::string> interpolated_stages;         ///< stages the reference lacked
    std::vector<double> reference_stage_weight;           ///< composition reference: per stage, its share of REF cells
    std::vector<double> within_type_sd;                   ///< per component (scaled by within_type_scale)
    std::vector<std::vector<double>> within_type_loadings; ///< [component][gene]
    std::string calibration_source, calibration_sha256;
    [[nodiscard]] bool calibrated() const { return !stage_log_profile.empty(); }
};

/// Builds the design for @p ruler (a graph ruler with a root) on genes drawn from
/// @p vocabulary (gene symbols; special tokens such as "<pad>" are skipped). Known
/// markers of the default hematopoiesis ruler's stages are used where the vocabulary has
/// them. Throws scx::Error when the ruler fails check_ruler(), has an explicit distance
/// matrix instead of a graph, or the vocabulary has too few genes for n_genes.
SimulationDesign design_simulation(const Ruler& ruler, const std::vector<std::string>& vocabulary,
                                   const SimulationOptions& options);

/// Builds a design on @p calibration's statistics (docs/simulation.md, "Calibrated beds"):
/// the genes are the reference's genes that @p vocabulary holds (options.n_genes is
/// ignored); a cell on edge (parent, child) at progress t has log rates
///   (1 - t) P_parent + t P_child + donor_gene
/// where P_s is the stage's profile from the reference. A stage the reference lacks gets
/// the mean profile of the nearest stages (fewest hops) that it has, plus its known
/// markers (stage_markers()) raised by program effects, so it stays distinguishable.
/// Counts are negative binomial with each gene's calibrated dispersion around library
/// sizes drawn from the calibrated distribution (shifted per donor when the calibration
/// estimated donor effects; donor gene and composition spreads likewise come from it).
/// Each cell also draws the reference's within-type components (z_k ~ N(0, 1), adding
/// sum_k sd_k z_k v_k to its log rates), so cells of one type share states as real cells
/// do. With options.composition = reference, cells sit at the profiled stages in REF's
/// proportions (no progress along edges) instead of along the whole graph.
/// Throws scx::Error when no profiled stage is on @p ruler or fewer than 10 genes are in
/// @p vocabulary.
SimulationDesign design_calibrated_simulation(const Ruler& ruler, const Calibration& calibration,
                                              const std::vector<std::string>& vocabulary,
                                              const SimulationOptions& options);

/// How many genes of @p vocabulary design_simulation() can draw (the most n_genes can be):
/// distinct plain gene symbols, special tokens such as "<pad>" left out.
std::int64_t simulation_gene_pool_size(const std::vector<std::string>& vocabulary);

/// Where a cell sits and what it is (one row of obs).
struct SimulatedCell {
    std::int64_t donor = 0, tissue = 0;
    std::int64_t parent = 0, child = 0; ///< the edge's stages
    double t = 0;                       ///< progress along the edge in [0, 1)
    std::int64_t stage = 0;             ///< nearer end: parent when t < 0.5
    double progress = 0;                ///< depth(parent) + t
    double library_size = 0;
};

/// Cell @p index's placement (its own random stream; no expression drawn).
SimulatedCell place_cell(const SimulationDesign& design, std::int64_t index);

/// Raw counts of cells [begin, end) (rows in order, columns = design.genes), with
/// their placements in @p cells when not null. Same values for any @p threads and any
/// block boundaries.
CsrMatrix simulate_counts(const SimulationDesign& design, std::int64_t begin, std::int64_t end, int threads,
                          std::vector<SimulatedCell>* cells = nullptr);

} // namespace scx
