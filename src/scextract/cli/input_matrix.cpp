#include "scextract/cli/input_matrix.hpp"

#include "scextract/preprocess/gene_alignment.hpp"

#include <fmt/format.h>

namespace scx::cli {

std::string counts_hint(const Dataset& d, const std::string& layer, bool raw) {
    if (d.format != "h5ad") return "scextract needs raw counts";
    std::vector<std::string> options;
    if (!layer.empty() || raw) options.push_back(fmt::format("X (leave out {})", raw ? "--raw" : "--layer"));
    for (const auto& l : d.layer_names)
        if (l != layer) options.push_back("--layer " + l);
    if (d.has_raw && !raw) options.push_back("--raw");
    if (options.empty()) return "the file has no other layer or raw.X to take counts from";
    return fmt::format("other matrices in this file: {}; choose the one that holds raw counts", fmt::join(options, ", "));
}

std::vector<std::string> dataset_gene_symbols(const Dataset& d, const std::string& input, const std::string& force_column,
                                              const Console& console) {
    std::vector<GeneColumn> columns;
    for (const auto& [name, col] : d.var.columns)
        if (std::holds_alternative<StringArray>(col) || std::holds_alternative<Categorical>(col))
            columns.push_back({name, column_as_strings(col, input + " var['" + name + "']")});
    GeneSymbolOptions o;
    o.force_column = force_column;
    auto choice = choose_gene_symbols(d.var_names, columns, o);
    console.info(choice.explanation);
    return std::move(choice.symbols);
}

} // namespace scx::cli
