#include "scextract/preprocess/gene_alignment.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

double GeneAlignment::matched_fraction() const {
    return n_genes == 0 ? 0.0 : static_cast<double>(positions.size()) / static_cast<double>(n_genes);
}

GeneAlignment align_genes(std::span<const std::string> symbols, const GeneVocabulary& vocab) {
    GeneAlignment out;
    out.n_genes = static_cast<std::int64_t>(symbols.size());
    for (std::size_t i = 0; i < symbols.size(); ++i) {
        const auto it = vocab.find(symbols[i]);
        if (it == vocab.end()) {
            out.unmatched.push_back(symbols[i]);
        } else {
            out.positions.push_back(static_cast<std::int64_t>(i));
            out.vocab_ids.push_back(it->second);
        }
    }
    return out;
}

bool looks_like_ensembl_gene_id(std::string_view id) {
    if (id.size() < 10 || id.substr(0, 3) != "ENS") return false;
    std::size_t i = 3;
    while (i < id.size() && std::isupper(static_cast<unsigned char>(id[i])) && id[i] != 'G') ++i;
    if (i - 3 > 6 || i >= id.size() || id[i] != 'G') return false;
    ++i;
    const std::size_t digits_start = i;
    while (i < id.size() && std::isdigit(static_cast<unsigned char>(id[i]))) ++i;
    if (i - digits_start < 6) return false;
    if (i == id.size()) return true;
    if (id[i] != '.' || i + 1 == id.size()) return false;
    return std::all_of(id.begin() + static_cast<std::ptrdiff_t>(i + 1), id.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

namespace {

double ensembl_share(std::span<const std::string> names) {
    if (names.empty()) return 0.0;
    const auto n =
        std::count_if(names.begin(), names.end(), [](const std::string& s) { return looks_like_ensembl_gene_id(s); });
    return static_cast<double>(n) / static_cast<double>(names.size());
}

std::int64_t count_empty(const std::vector<std::string>& values) {
    return std::count_if(values.begin(), values.end(), [](const std::string& s) { return s.empty(); });
}

std::string empty_note(std::int64_t n_empty) {
    return n_empty == 0 ? std::string() : fmt::format(" ({} genes have an empty symbol and cannot match)", n_empty);
}

} // namespace

GeneSymbolChoice choose_gene_symbols(std::span<const std::string> var_names, std::span<const GeneColumn> columns,
                                     const GeneSymbolOptions& options) {
    for (const auto& c : columns)
        if (c.values.size() != var_names.size())
            throw Error(fmt::format("var column '{}' has {} values but var_names has {}", c.name, c.values.size(),
                                    var_names.size()));
    const auto find = [&](const std::string& name) -> const GeneColumn* {
        for (const auto& c : columns)
            if (c.name == name) return &c;
        return nullptr;
    };

    GeneSymbolChoice out;
    const double share = ensembl_share(var_names);
    out.var_names_are_ensembl = !var_names.empty() && share >= options.ensembl_fraction;

    if (!options.force_column.empty()) {
        const GeneColumn* c = find(options.force_column);
        if (c == nullptr) {
            std::vector<std::string> names;
            for (const auto& col : columns) names.push_back(col.name);
            throw Error(fmt::format("var has no column '{}' to take gene symbols from (string columns: {})",
                                    options.force_column,
                                    names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
        }
        out.symbols = c->values;
        out.source = c->name;
        out.explanation = fmt::format("gene symbols taken from var['{}'] as requested{}", c->name,
                                      empty_note(count_empty(c->values)));
        return out;
    }

    if (out.var_names_are_ensembl) {
        for (const auto& name : options.symbol_columns) {
            const GeneColumn* c = find(name);
            if (c == nullptr || ensembl_share(c->values) >= options.ensembl_fraction) continue;
            out.symbols = c->values;
            out.source = c->name;
            out.explanation = fmt::format("var_names look like Ensembl ids ({:.0f}% match ENS...G#), so gene symbols "
                                          "were taken from var['{}']{}",
                                          100.0 * share, c->name, empty_note(count_empty(c->values)));
            return out;
        }
        out.symbols.assign(var_names.begin(), var_names.end());
        out.source = "var_names";
        out.explanation =
            fmt::format("var_names look like Ensembl ids ({:.0f}% match ENS...G#) but var has no symbol "
                        "column ({}); using var_names, which will match few symbol-keyed vocabulary entries",
                        100.0 * share, fmt::join(options.symbol_columns, ", "));
        return out;
    }

    out.symbols.assign(var_names.begin(), var_names.end());
    out.source = "var_names";
    out.explanation = "gene symbols taken from var_names";
    return out;
}

} // namespace scx
