#include "scextract/io/gene_sets_gmt.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/text_lines.hpp"

#include <unordered_set>

#include <fmt/format.h>

namespace scx {

namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto tab = line.find('\t', start);
        out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
        if (tab == std::string_view::npos) break;
        start = tab + 1;
    }
    return out;
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

} // namespace

std::vector<GeneSet> read_gmt(const std::string& path) {
    TextLines lines(path);
    std::vector<GeneSet> sets;
    std::unordered_set<std::string> names;
    std::string_view line;
    while (lines.next(line)) {
        if (trimmed(line).empty() || line.front() == '#') continue;
        const auto where = [&] { return fmt::format("{}: line {}", path, lines.line_number()); };
        const auto fields = split_tabs(line);
        if (fields.size() < 3)
            throw Error(fmt::format("{}: {} tab-separated field(s); a GMT line is name, description, then genes", where(),
                                    fields.size()));
        GeneSet s;
        s.name = std::string(trimmed(fields[0]));
        s.description = std::string(trimmed(fields[1]));
        s.source = path;
        if (s.name.empty()) throw Error(fmt::format("{}: empty gene-set name", where()));
        if (!names.insert(s.name).second) throw Error(fmt::format("{}: gene set '{}' appears twice", where(), s.name));
        std::unordered_set<std::string> seen;
        for (std::size_t i = 2; i < fields.size(); ++i) {
            const auto g = std::string(trimmed(fields[i]));
            if (!g.empty() && seen.insert(g).second) s.genes.push_back(g);
        }
        if (s.genes.empty()) throw Error(fmt::format("{}: gene set '{}' lists no gene", where(), s.name));
        sets.push_back(std::move(s));
    }
    if (sets.empty()) throw Error(fmt::format("{}: no gene set (GMT: one set per line, name<TAB>description<TAB>genes...)", path));
    return sets;
}

} // namespace scx
