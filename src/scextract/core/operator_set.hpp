#pragma once
/// @file operator_set.hpp
/// @brief Stage 1's output: one G x G operator per attention head over a gene panel,
/// with everything needed to say how it was made (METHOD.md, "Stage 1 - operator export").

#include "scextract/core/dense.hpp"
#include "scextract/core/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

/// How an OperatorSet was made. Free-text fields are recorded verbatim in the operator
/// file (docs/formats.md); empty strings and negative numbers mean "not applicable".
struct OperatorProvenance {
    std::string mode;                 ///< "atlas" (attention atlas), "qk" or "ov" (weights-only circuits)
    std::int64_t cells_used = 0;      ///< atlas: cells run through the model (0 for circuits)
    std::int64_t cells_available = 0; ///< atlas: reference cells with at least one expressed panel gene
    std::int64_t cells_total = 0;     ///< atlas: reference cells
    std::uint64_t seed = 0;           ///< atlas: seed of the cell sample
    std::vector<std::int64_t> cell_indices; ///< atlas: reference rows sampled, ascending
    std::string tokenizer;            ///< how cells became tokens (atlas), "" for circuits
    std::int64_t max_tokens = -1;     ///< atlas: tokens per cell at most
    double target_sum = -1;           ///< normalize_total target of the reference values
    std::string checkpoint_path;      ///< the weights file that was read
    std::string checkpoint_sha256;    ///< SHA-256 (hex) of the weights file's bytes
    std::string reference_path;       ///< the reference data the panel (and atlas cells) came from
    std::string reference_matrix;     ///< which matrix of it ("X", "layers/counts", "raw/X")
    std::string hvg_flavor;           ///< panel: HVG flavour
    std::string vocab_filter;         ///< panel: "before_hvg" / "after_hvg"
    std::string panel_order;          ///< panel: "hvg_rank" / "input"
    std::int64_t panel_requested = -1;///< panel: genes asked for
    std::string bias_handling;        ///< which attention biases enter the operator, and why
    std::string exactness;            ///< what the operator is exact for (circuits: layer 0 only)
    std::string software;             ///< producer, e.g. "scextract 0.1.0"
};

/// Per-head operators over a gene panel. ops[layer * n_heads + head] is G x G float32 with
/// A[i, j] = the relation from query gene i (row) to key gene j (column), genes in panel order.
struct OperatorSet {
    std::vector<std::string> genes;      ///< panel gene symbols, in panel order (G)
    std::vector<std::int64_t> vocab_ids; ///< model vocabulary id of each panel gene (G)
    std::int64_t n_layers = 0;
    std::int64_t n_heads = 0;
    std::vector<RowMatrixF> ops;         ///< n_layers * n_heads matrices, each G x G
    /// Atlas only: G x G row-major co-occurrence counts C[i, j] (cells in which genes i
    /// and j were both tokens; C[i, i] = cells expressing i), the same for every head.
    /// Empty for circuits.
    std::vector<std::int32_t> cooccurrence;
    OperatorProvenance provenance;

    /// Panel size G.
    [[nodiscard]] std::int64_t n_genes() const { return static_cast<std::int64_t>(vocab_ids.size()); }

    /// The operator of (@p layer, @p head), both 0-based. Throws scx::Error when out of range.
    [[nodiscard]] const RowMatrixF& op(std::int64_t layer, std::int64_t head) const {
        if (layer < 0 || layer >= n_layers || head < 0 || head >= n_heads)
            throw Error("operator set: head " + std::to_string(layer) + ":" + std::to_string(head) +
                        " is outside " + std::to_string(n_layers) + " layers x " + std::to_string(n_heads) + " heads");
        return ops.at(static_cast<std::size_t>(layer * n_heads + head));
    }

    /// Throws scx::Error (prefixed with @p what) unless the sizes agree: G genes (or no
    /// names), G vocabulary ids, n_layers * n_heads operators of G x G, and a G x G or
    /// empty co-occurrence.
    void validate(const std::string& what) const {
        const std::int64_t g = n_genes();
        if (!genes.empty() && static_cast<std::int64_t>(genes.size()) != g)
            throw Error(what + ": " + std::to_string(genes.size()) + " gene names for " + std::to_string(g) +
                        " vocabulary ids");
        if (n_layers < 0 || n_heads < 0 || static_cast<std::int64_t>(ops.size()) != n_layers * n_heads)
            throw Error(what + ": " + std::to_string(ops.size()) + " operators for " + std::to_string(n_layers) +
                        " layers x " + std::to_string(n_heads) + " heads");
        for (std::size_t k = 0; k < ops.size(); ++k)
            if (ops[k].rows() != g || ops[k].cols() != g)
                throw Error(what + ": operator " + std::to_string(k) + " is " + std::to_string(ops[k].rows()) + " x " +
                            std::to_string(ops[k].cols()) + ", expected " + std::to_string(g) + " x " +
                            std::to_string(g));
        if (!cooccurrence.empty() && static_cast<std::int64_t>(cooccurrence.size()) != g * g)
            throw Error(what + ": co-occurrence has " + std::to_string(cooccurrence.size()) + " entries, expected " +
                        std::to_string(g * g));
    }
};

} // namespace scx
