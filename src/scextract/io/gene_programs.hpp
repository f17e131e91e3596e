#pragma once
/// @file gene_programs.hpp
/// @brief Named gene programs (program name -> gene symbols), as the simulator records them
/// in `uns['scx_sim']['programs']` of its h5ad output, or as a JSON file
/// `{"program": ["GENE1", "GENE2", ...], ...}`. make-model plants them into a model.

#include <string>
#include <vector>

namespace scx {

/// One gene program: a name and its genes (gene symbols, in the order stored).
struct GeneProgram {
    std::string name;
    std::vector<std::string> genes;
};

/// Reads gene programs from @p path: an .h5ad file (the dict of string arrays at
/// `uns['scx_sim']['programs']`; the matrices are not read) or a .json file (an object of
/// string arrays, in file order). Throws scx::Error naming the file when the entry is
/// missing, a program is not a list of strings, or no program holds a gene.
std::vector<GeneProgram> read_gene_programs(const std::string& path);

} // namespace scx
