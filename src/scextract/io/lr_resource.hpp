#pragma once
/// @file lr_resource.hpp
/// @brief A ligand-receptor resource (tab-separated `ligand`, `receptor` columns, e.g.
/// data/lr/cellphonedb_v4_human.tsv), the input of the ligand-receptor ruler
/// (preprocess/lr_ruler.hpp). Format in docs/formats.md.
///
/// Lines starting with '#' and blank lines are comments. The first other line is the header;
/// it must name a `ligand` and a `receptor` column (other columns are allowed and ignored).
/// Every row has as many tab-separated fields as the header. A ligand or receptor that is a
/// complex lists its subunit genes joined by '_' (CellPhoneDB's convention). Pairs written
/// twice are kept once.

#include <string>
#include <string_view>
#include <vector>

namespace scx {

/// One interaction: ligand (or ligand complex) -> receptor (or receptor complex).
struct LrPair {
    std::string ligand, receptor;                         ///< as written
    std::vector<std::string> ligand_genes, receptor_genes; ///< subunits (split on '_')
};

struct LrResource {
    std::string source; ///< the file it came from
    std::vector<LrPair> pairs;
    std::int64_t duplicates = 0; ///< rows dropped because the pair was already listed
};

/// Reads a resource file (plain or gzip). Throws scx::Error naming the file and line on a
/// missing header column, a row with the wrong number of fields, an empty ligand, receptor or
/// subunit, or a file without pairs.
LrResource read_lr_resource(const std::string& path);

/// Parses resource text; @p what names the source in errors.
LrResource parse_lr_resource(std::string_view text, const std::string& what);

} // namespace scx
