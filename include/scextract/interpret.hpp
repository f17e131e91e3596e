#pragma once
/// @file interpret.hpp
/// @brief What an algorithm's operator knows (METHOD.md, "Interpretability"): its factors
/// with read and write genes, fixed-probe leave-one-factor-out ablation on held-out cells,
/// the core and its subsets, gene programs by enrichment, and, given known programs (a
/// planted bed), how many the factors recover. The CLI's `interpret` is this header.

#include "scextract/api/input_cells.hpp"
#include "scextract/core/messages.hpp"
#include "scextract/core/progress.hpp"
#include "scextract/interpret/interpretation.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scx {

struct InterpretFileOptions {
    std::string algorithm;               ///< .scx from fit, over one block (head, rank or sparse features)
    ReferenceCellsOptions data;          ///< cells to score: held-out donors, not the fit's cells
    std::string out;                     ///< folder for the outputs (created)
    /// GMT files; "default" is the bundled collection (data/genesets); empty: no enrichment.
    std::vector<std::string> gmt{"default"};
    std::string programs;                ///< known programs (.h5ad of simulate, or JSON); empty: none
    std::int64_t top_genes = 60;         ///< read / write genes per factor
    std::int64_t max_factors = 64;       ///< factors of a dense head
    std::int64_t core_size = 4;
    std::vector<std::string> endpoints;  ///< empty: every endpoint the labels support
    std::int64_t min_donor_cells = 5;
    std::int64_t max_cells = 20000;      ///< a seeded subsample above this
    std::int64_t permutations = 1000;    ///< of the program-recovery null
    std::int64_t recovery_factors = 16;  ///< leading factors searched for known programs
    double fdr = 0.05;
    std::uint64_t seed = 42;
    int threads = 0;
    ProgressCallback progress;           ///< ablation configurations (done, total); may be empty
};

struct InterpretFileResult {
    Interpretation interpretation;
    std::vector<std::string> files;      ///< written, in out
    double seconds = 0;
};

/// Reads the algorithm and the cells, interprets, and writes factors.tsv, ablation.tsv,
/// subsets.tsv, enrichment.tsv, programs.tsv (with known programs), interpret.json and
/// interpret.html into options.out. Everything is computed before the first file is written.
InterpretFileResult interpret_file(const InterpretFileOptions& options, const MessageSink& messages = {});

/// The bundled gene-set collection: $SCX_DATA_DIR/genesets, else the source tree's data/.
/// Throws scx::Error when it is not found (an installed package without data files).
std::string bundled_gene_sets();

} // namespace scx
