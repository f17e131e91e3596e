#include "scextract/simulate/stage_markers.hpp"

#include <map>

namespace scx {

std::vector<std::string> stage_markers(std::string_view stage) {
    static const std::map<std::string, std::vector<std::string>, std::less<>> table = {
        {"HSC", {"CD34", "HLF", "CRHBP", "AVP", "MECOM", "PROM1", "HOPX", "MLLT3"}},
        {"MPP", {"CD34", "SPINK2", "CD52", "FLT3", "MEIS1", "PROM1"}},
        {"CMP", {"CD34", "KIT", "GATA2", "CD38", "MYB"}},
        {"CLP", {"CD34", "DNTT", "CD7", "IL7R", "FLT3", "LTB"}},
        {"GMP", {"MPO", "CEBPA", "CSF3R", "CD38", "ELANE"}},
        {"MEP", {"GATA1", "KLF1", "TFRC", "ZFPM1", "CNRIP1"}},
        {"megakaryocyte", {"ITGA2B", "PF4", "PPBP", "GP9", "GP1BA", "VWF"}},
        {"early_erythroid_progenitor", {"GATA1", "KLF1", "TFRC", "CA1", "APOC1"}},
        {"erythroblast", {"HBB", "HBA1", "GYPA", "ALAS2", "AHSP", "CA1"}},
        {"erythrocyte", {"HBB", "HBA1", "HBA2", "SLC4A1", "GYPA", "ALAS2"}},
        {"promyelocyte", {"MPO", "ELANE", "AZU1", "PRTN3", "CTSG"}},
        {"myelocyte", {"LTF", "CAMP", "LCN2", "MMP8", "CEACAM8"}},
        {"neutrophil", {"FCGR3B", "CXCR2", "CSF3R", "S100A8", "S100A9", "MNDA"}},
        {"eo_baso_mast", {"CLC", "PRG2", "HDC", "MS4A2", "CPA3", "GATA2"}},
        {"MDP", {"CSF1R", "IRF8", "CD34", "MPO"}},
        {"classical_monocyte", {"CD14", "LYZ", "S100A8", "S100A9", "VCAN", "FCN1"}},
        {"nonclassical_monocyte", {"FCGR3A", "MS4A7", "CX3CR1", "LST1", "CDKN1C"}},
        {"macrophage", {"CD68", "C1QA", "C1QB", "C1QC", "APOE", "MARCO", "CD163"}},
        {"cDC1", {"CLEC9A", "XCR1", "IDO1", "CADM1"}},
        {"cDC2", {"CD1C", "FCER1A", "CLEC10A", "HLA-DQA1"}},
        {"pDC", {"LILRA4", "IL3RA", "CLEC4C", "IRF7", "TCF4"}},
        {"pro_B", {"DNTT", "VPREB1", "IGLL1", "CD79A", "EBF1"}},
        {"pre_B", {"VPREB3", "CD79B", "CD19", "PAX5", "SOX4"}},
        {"immature_B", {"CD19", "MS4A1", "IGHM", "CD79A", "TCL1A"}},
        {"naive_B", {"MS4A1", "CD19", "IGHD", "TCL1A", "FCER2"}},
        {"memory_B", {"MS4A1", "CD27", "AIM2", "IGHG1", "TNFRSF13B"}},
        {"plasma_cell", {"JCHAIN", "MZB1", "SDC1", "XBP1", "IGHG1", "PRDM1"}},
        {"T_progenitor", {"CD7", "CD3E", "CD1A", "RAG1", "PTCRA"}},
        {"naive_CD4_T", {"CD4", "CD3E", "CCR7", "SELL", "TCF7", "LEF1"}},
        {"memory_CD4_T", {"CD4", "CD3E", "IL7R", "CD40LG", "S100A4"}},
        {"regulatory_T", {"CD4", "FOXP3", "IL2RA", "CTLA4", "IKZF2"}},
        {"naive_CD8_T", {"CD8A", "CD8B", "CD3E", "CCR7", "SELL"}},
        {"memory_CD8_T", {"CD8A", "CD8B", "GZMK", "CCL5", "GZMH"}},
        {"gamma_delta_T", {"TRDC", "TRGC1", "TRGC2", "CD3E", "KLRC1"}},
        {"NK", {"NKG7", "GNLY", "KLRD1", "NCAM1", "PRF1", "KLRF1"}},
    };
    const auto it = table.find(stage);
    return it == table.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> housekeeping_genes() {
    return {"ACTB", "GAPDH", "B2M", "MALAT1", "TMSB4X", "EEF1A1", "FTL", "FTH1", "TPT1", "RPL13",
            "RPS27A", "RPLP1", "RPS18", "RPL41", "UBC", "HSP90AB1", "PPIA", "PFN1", "CFL1", "MYL6"};
}

} // namespace scx
