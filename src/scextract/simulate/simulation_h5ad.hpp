#pragma once
/// @file simulation_h5ad.hpp
/// @brief Streams a simulation to an .h5ad that scanpy opens: raw counts in X, the truth
/// in obs, gene roles in var, the design in uns['scx_sim'].

#include "scextract/core/progress.hpp"
#include "scextract/simulate/simulator.hpp"

#include <cstdint>
#include <string>

namespace scx {

struct SimulationWriteOptions {
    std::int64_t block_size = 8192; ///< cells generated and written at a time (bounds memory)
    int threads = 0;
    int gzip_level = 4;
    ProgressCallback progress;      ///< called with (cells done, cells total) after each block
};

/// What was written.
struct SimulationWriteResult {
    std::int64_t n_cells = 0, n_genes = 0, nnz = 0;
};

/// Generates every cell of @p design block by block and writes @p path atomically.
/// obs: cell_type (the ruler's label for the stage), stage, branch, depth (int), donor,
/// tissue, progress (the true developmental position, depth(parent) + t), edge_parent,
/// edge_child, library_size; var: gene_role, program; uns['scx_sim']: seed, options,
/// the ruler's name, null flag, and programs (program name -> gene symbols).
SimulationWriteResult write_simulation_h5ad(const SimulationDesign& design, const std::string& path,
                                            const SimulationWriteOptions& options = {});

} // namespace scx
