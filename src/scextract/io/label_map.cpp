#include "scextract/io/label_map.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/io/text_lines.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

namespace {

/// Longest line a label map may have: labels are short; a longer line is not a label map.
constexpr std::size_t kMaxLine = 4096;

std::string trimmed(std::string s) {
    const auto not_space = [](unsigned char c) { return c != ' ' && c != '\r' && c != '\n'; };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

} // namespace

std::vector<LabelMapEntry> read_label_map(const std::string& path) {
    if (!std::ifstream(path, std::ios::binary)) throw Error(fmt::format("{}: cannot open the label map", path));
    TextLines lines(path); // bounded lines: a label map of one 6 GiB line is refused, not buffered
    std::vector<LabelMapEntry> entries;
    std::map<std::string, std::size_t> seen;
    std::string_view view;
    bool first = true; // a first line "label<TAB>stage" is a header
    while (lines.next(view)) {
        const std::int64_t number = lines.line_number();
        if (view.size() > kMaxLine)
            throw Error(fmt::format("{}:{}: a line of {} bytes; a label map has one 'label<TAB>stage' per line", path, number,
                                    view.size()));
        std::string line(view);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (trimmed(line).empty() || line.front() == '#') continue;
        const auto tab = line.find('\t');
        if (tab == std::string::npos || line.find('\t', tab + 1) != std::string::npos)
            throw Error(fmt::format("{}:{}: expected 'label<TAB>stage', got '{}'", path, number, line));
        LabelMapEntry e{trimmed(line.substr(0, tab)), trimmed(line.substr(tab + 1)), number};
        const bool header = first && e.label == "label" && e.stage == "stage";
        first = false;
        if (header) continue;
        if (e.label.empty() || e.stage.empty()) throw Error(fmt::format("{}:{}: empty label or stage", path, number));
        const auto [it, fresh] = seen.emplace(e.label, entries.size());
        if (!fresh) {
            const auto& first = entries[it->second];
            if (first.stage != e.stage)
                throw Error(fmt::format("{}:{}: label '{}' maps to '{}' here and to '{}' on line {}", path, number, e.label,
                                        e.stage, first.stage, first.line));
            continue;
        }
        entries.push_back(std::move(e));
    }
    return entries;
}

void add_label_map(Ruler& ruler, const std::vector<LabelMapEntry>& entries, const std::string& path) {
    std::vector<std::pair<std::string, std::int64_t>> mapped;
    std::set<std::string> keys;
    for (const auto& e : entries) {
        const auto s = ruler.stage_index(e.stage);
        if (s < 0) {
            std::vector<std::string> names;
            for (const auto& st : ruler.stages) names.push_back(st.name);
            throw Error(fmt::format("{}:{}: '{}' is not a stage of the ruler '{}' (stages: {})", path, e.line, e.stage,
                                    ruler.name, fmt::join(names, ", ")));
        }
        const auto named = ruler.stage_index(e.label);
        if (named >= 0 && named != s)
            throw Error(fmt::format("{}:{}: '{}' is the name of a stage of the ruler; it cannot map to '{}'", path, e.line,
                                    e.label, e.stage));
        mapped.emplace_back(e.label, s);
        keys.insert(normalize_label(e.label));
    }
    for (auto& l : ruler.labels)
        if (!keys.contains(normalize_label(l.first))) mapped.push_back(std::move(l));
    ruler.labels = std::move(mapped);
}

Ruler load_ruler_with_label_map(const std::string& source, const std::string& label_map_path) {
    Ruler ruler = load_ruler(source);
    if (!label_map_path.empty()) add_label_map(ruler, read_label_map(label_map_path), label_map_path);
    return ruler;
}

} // namespace scx
