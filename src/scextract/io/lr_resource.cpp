#include "scextract/io/lr_resource.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/text_lines.hpp"

#include <cstdint>
#include <functional>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace scx {

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t a = 0;
    while (true) {
        const auto b = s.find(sep, a);
        out.emplace_back(s.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a));
        if (b == std::string_view::npos) return out;
        a = b + 1;
    }
}

std::string trimmed(std::string_view s) {
    const auto a = s.find_first_not_of(" \r");
    if (a == std::string_view::npos) return {};
    return std::string(s.substr(a, s.find_last_not_of(" \r") - a + 1));
}

/// Shared by the file and the text reader: @p next yields (line number, line) until false.
LrResource parse_lines(const std::function<bool(std::int64_t&, std::string_view&)>& next, const std::string& what) {
    LrResource r;
    r.source = what;
    std::int64_t ligand_col = -1, receptor_col = -1;
    std::size_t n_fields = 0;
    std::set<std::pair<std::string, std::string>> seen;
    std::int64_t no = 0;
    std::string_view line;
    while (next(no, line)) {
        if (line.empty() || line.front() == '#' || trimmed(line).empty()) continue;
        const auto fields = split(line, '\t');
        if (n_fields == 0) {
            for (std::size_t i = 0; i < fields.size(); ++i) {
                const auto f = trimmed(fields[i]);
                if (f == "ligand") ligand_col = static_cast<std::int64_t>(i);
                if (f == "receptor") receptor_col = static_cast<std::int64_t>(i);
            }
            if (ligand_col < 0 || receptor_col < 0)
                throw Error(fmt::format("{}: line {}: the header names no '{}' column (a ligand-receptor resource is "
                                        "tab-separated with 'ligand' and 'receptor' columns)",
                                        what, no, ligand_col < 0 ? "ligand" : "receptor"));
            n_fields = fields.size();
            continue;
        }
        if (fields.size() != n_fields)
            throw Error(fmt::format("{}: line {}: {} tab-separated fields, the header has {}", what, no, fields.size(), n_fields));
        LrPair p;
        p.ligand = trimmed(fields[static_cast<std::size_t>(ligand_col)]);
        p.receptor = trimmed(fields[static_cast<std::size_t>(receptor_col)]);
        if (p.ligand.empty() || p.receptor.empty())
            throw Error(fmt::format("{}: line {}: empty {}", what, no, p.ligand.empty() ? "ligand" : "receptor"));
        p.ligand_genes = split(p.ligand, '_');
        p.receptor_genes = split(p.receptor, '_');
        for (const auto* genes : {&p.ligand_genes, &p.receptor_genes})
            for (const auto& g : *genes)
                if (g.empty()) throw Error(fmt::format("{}: line {}: empty subunit in '{}'", what, no, genes == &p.ligand_genes ? p.ligand : p.receptor));
        if (!seen.emplace(p.ligand, p.receptor).second) {
            ++r.duplicates;
            continue;
        }
        r.pairs.push_back(std::move(p));
    }
    if (n_fields == 0) throw Error(fmt::format("{}: no header line (expected tab-separated 'ligand' and 'receptor' columns)", what));
    if (r.pairs.empty()) throw Error(fmt::format("{}: no ligand-receptor pairs after the header", what));
    return r;
}

} // namespace

LrResource read_lr_resource(const std::string& path) {
    TextLines lines(path);
    return parse_lines(
        [&](std::int64_t& no, std::string_view& line) {
            const bool ok = lines.next(line);
            no = lines.line_number();
            return ok;
        },
        path);
}

LrResource parse_lr_resource(std::string_view text, const std::string& what) {
    std::size_t pos = 0;
    std::int64_t count = 0;
    return parse_lines(
        [&](std::int64_t& no, std::string_view& line) {
            if (pos >= text.size()) return false;
            auto end = text.find('\n', pos);
            if (end == std::string_view::npos) end = text.size();
            line = text.substr(pos, end - pos);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            pos = end + 1;
            no = ++count;
            return true;
        },
        what);
}

} // namespace scx
