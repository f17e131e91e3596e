#pragma once
/// @file perturb.hpp
/// @brief In-silico perturbation through an algorithm's operator, with no model: knock out or
/// overexpress panel genes (or one operator factor) in every cell of an .h5ad and write the
/// per-cell shifts of depth, branch and stage probabilities into a copy of it, with a summary
/// against random gene sets of the same size and expression level. The CLI's `perturb`.

#include "scextract/core/messages.hpp"
#include "scextract/preprocess/input_values.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/interpret/in_silico_perturbation.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct PerturbFileOptions {
    std::string algorithm;            ///< .scx from fit
    std::string input;                ///< .h5ad (anndata >= 0.8) with raw counts
    std::string out;                  ///< annotated copy of input (.h5ad)
    std::string summary;              ///< summary TSV; empty: out with ".perturb.tsv" for ".h5ad"
    std::string layer;                ///< counts from this layer instead of X
    bool raw = false;                 ///< counts from raw.X
    InputValuesOptions input_kind;    ///< counts or log-normalised (default: detected)
    std::string gene_column;          ///< var column with symbols (empty: automatic)
    PerturbationOptions perturbation; ///< genes or factor, mode, null
    /// Or perturb the genes of one named program of a programs file (an .h5ad of `simulate`,
    /// a JSON object of gene lists, or a GMT file): both set, and no genes given.
    std::string programs_file, program;
};

struct PerturbFileResult {
    PerturbationResult perturbation;
    std::string summary;              ///< the summary TSV written
    double seconds = 0;
};

/// The summary as TSV: output, shift, null mean and sd, p, q, direction.
std::string perturbation_summary_tsv(const PerturbationResult& r);

/// Reads, perturbs, writes options.out (obs scx_perturb_depth and scx_perturb_depth_shift,
/// obsm scx_perturb_branch_shift and scx_perturb_stage_shift, uns scx_perturb) and the
/// summary, each atomically, after everything is computed.
PerturbFileResult perturb_file(const PerturbFileOptions& options, const MessageSink& messages = {});

} // namespace scx
