#pragma once
/// @file stage_markers.hpp
/// @brief Known marker genes for the stages of the default hematopoiesis ruler, so the
/// simulator's gene programs start from real biology where it is well established.

#include <string>
#include <string_view>
#include <vector>

namespace scx {

/// Marker symbols for a stage of data/rulers/hematopoiesis.json (empty for other names).
/// Textbook markers (e.g. CD34 for HSC/MPP, GATA1/KLF1/HBB for erythroid cells, MPO/ELANE
/// for promyelocytes, CD14/LYZ for classical monocytes, CD68/C1QA for macrophages,
/// CD19/MS4A1 for B cells, JCHAIN/MZB1 for plasma cells, CD3E with CD4 or CD8A for T
/// cells, NKG7/GNLY for NK cells), most specific first.
std::vector<std::string> stage_markers(std::string_view stage);

/// Genes expressed highly in nearly every cell (actin, GAPDH, B2M, ribosomal proteins).
std::vector<std::string> housekeeping_genes();

} // namespace scx
