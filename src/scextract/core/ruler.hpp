#pragma once
/// @file ruler.hpp
/// @brief The biological ruler: a graph of stages (with depth and branch), the mapping
/// from cell-type labels to stages, and the stage x stage distances Stage 2 fits to.
///
/// The ruler is an input, not code (METHOD.md, "Second manifold"): by default distances
/// are undirected hop counts on the stage graph; a ruler may instead carry an explicit
/// stage x stage distance matrix (e.g. ligand-receptor path distances), which is then used
/// as is. Files are read and written by io/ruler_json.hpp.

#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scx {

/// One node of the ruler.
struct RulerStage {
    std::string name;        ///< unique, e.g. "HSC", "classical_monocyte"
    std::int64_t depth = 0;  ///< differentiation depth; for a graph ruler the hop count from the root
    std::string branch;      ///< one of Ruler::branches
    std::string description; ///< free text (what the stage stands for, what it lumps together)
};

/// A stage graph with label mappings. Plain data: build it in code or read it with
/// read_ruler_json(), then validate it with check_ruler().
struct Ruler {
    std::string name;
    std::string description;
    std::vector<std::string> sources;  ///< literature the graph follows
    std::vector<std::string> branches; ///< declared branch names, in display order
    std::vector<RulerStage> stages;
    /// Undirected edges as pairs of indices into @ref stages.
    std::vector<std::pair<std::int64_t, std::int64_t>> edges;
    /// Label or synonym -> stage index, as written (looked up through normalize_label()).
    std::vector<std::pair<std::string, std::int64_t>> labels;
    std::string root; ///< name of the stage at depth 0
    /// Optional stages x stages distances (row/column i = stages[i]). When present,
    /// ruler_distances() returns it instead of hop distances, and the edges are optional.
    std::optional<Eigen::MatrixXd> explicit_distances;

    /// Index of the stage named exactly @p name, or -1.
    [[nodiscard]] std::int64_t stage_index(std::string_view name) const;
    /// Stage of a cell-type label, or -1. Tried in order: a stage name exactly, a label
    /// key exactly, then stage names and label keys compared after normalize_label().
    /// A label whose normalised form is empty (e.g. "?") maps to nothing.
    [[nodiscard]] std::int64_t stage_of_label(std::string_view label) const;
};

/// The form in which labels are compared:
///  1. ASCII letters are lower-cased;
///  2. '+' is dropped ("CD14+" = "CD14");
///  3. '-' right after a letter or digit and followed by a non-alphanumeric character or the
///     end is a negative marker and is kept ("CD16-" != "CD16"); every other character that is
///     not an ASCII letter or digit (space, '_', '-', '/', '.', '&', brackets, ...) separates words;
///  4. a word of 3 or more characters ending in 's' but not "ss" loses the 's' (plural);
///  5. the word "cell" is dropped (after step 4, so "cells" too);
///  6. the words are concatenated without separator.
/// So "CD14+ Monocytes", "cd14 monocyte" and "CD14_Monocyte" all give "cd14monocyte";
/// "B cells", "B Cells" and "B" give "b"; "T_CD4" gives "tcd4" but "CD4 T" gives "cd4t"
/// (word order is kept, so such synonyms are listed explicitly). Bytes >= 0x80 are kept.
std::string normalize_label(std::string_view label);

/// Stage index of every label in @p labels (-1 where none), with one lookup table for all;
/// same rules as Ruler::stage_of_label().
std::vector<std::int64_t> stages_of_labels(const Ruler& ruler, const std::vector<std::string>& labels);

/// Stage x stage distance matrix: the explicit matrix when the ruler has one, otherwise the
/// undirected shortest-path hop distance on the stage graph (breadth-first search).
/// Throws scx::Error when the graph is disconnected (no infinite distances), an edge index
/// is out of range, or the explicit matrix is not stages x stages.
Eigen::MatrixXd ruler_distances(const Ruler& ruler);

/// Number of stages of one branch, as check_ruler() counts them.
struct RulerBranchCount {
    std::string branch;
    std::int64_t n_stages = 0;
};

/// What check_ruler() found.
struct RulerCheckResult {
    bool ok = false;                   ///< true when @ref errors is empty
    std::vector<std::string> errors;   ///< every violated rule, one message each
    std::vector<std::string> warnings; ///< suspicious but allowed
    /// The labels_to_map (distinct, in first-seen order) that map to no stage.
    std::vector<std::string> unknown_labels;
    /// The labels_to_map (distinct, in first-seen order) that map to a stage, with its index.
    std::vector<std::pair<std::string, std::int64_t>> mapped_labels;
    /// Stages per declared branch (declaration order), then any undeclared branch in use.
    std::vector<RulerBranchCount> branch_counts;
    std::int64_t max_depth = 0; ///< largest stage depth (0 for an empty ruler)
};

/// Validates a ruler. Errors:
///  - no stages; an empty or duplicate stage name; an empty or duplicate branch name;
///  - a stage whose branch is not declared; a negative depth;
///  - root empty or not a stage; root depth not 0; another stage at depth 0;
///  - an edge with an index out of range, a self-loop, or a duplicate (in either direction);
///  - graph rulers (no explicit matrix): the graph is not connected, or a stage's depth is
///    not its hop distance from the root (so the depths of adjacent stages differ by <= 1;
///    cycles are allowed, e.g. two routes to one stage);
///  - explicit matrix: not stages x stages, not finite, negative, not symmetric, or a
///    non-zero diagonal;
///  - a label with an empty text or a stage index out of range; a label written twice with
///    different stages; a label equal to a stage name but mapped to another stage; two labels
///    (or a label and a stage name) with the same normalize_label() form but different stages.
/// Warnings: a declared branch without stages; no labels; with an explicit matrix and edges,
/// a disconnected graph or depths that are not hop distances (the edges are then only
/// informative); an explicit matrix that breaks the triangle inequality or puts two
/// different stages at distance 0.
/// @p labels_to_map (e.g. a dataset's cell types) are looked up and reported in
/// unknown_labels / mapped_labels; unknown labels are not errors.
RulerCheckResult check_ruler(const Ruler& ruler, const std::vector<std::string>& labels_to_map = {});

} // namespace scx
