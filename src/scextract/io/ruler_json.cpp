#include "scextract/io/ruler_json.hpp"
#include "scextract/io/json_parse.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/json_parse.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

namespace scx {

namespace detail {
// Defined in the file CMake generates from data/rulers/hematopoiesis.json (src/scextract/CMakeLists.txt).
extern const char kDefaultHematopoiesisRulerJson[];
} // namespace detail

namespace {

bool is_identifier(const std::string& key) {
    if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

/// `parent.key` or `parent["odd key"]`.
std::string member_path(const std::string& parent, const std::string& key) {
    if (is_identifier(key)) return parent.empty() ? key : parent + "." + key;
    return fmt::format("{}[{}]", parent, nlohmann::json(key).dump());
}

std::string element_path(const std::string& parent, std::size_t i) { return fmt::format("{}[{}]", parent, i); }

/// A short rendering of a value for error messages.
template <class Json>
std::string show(const Json& v) {
    return json_excerpt_text(v);
}

/// Tracks where the SAX-style parser callback is, to name a key written twice in one object
/// (nlohmann::json silently keeps the last one).
class DuplicateKeyFinder {
public:
    template <class Json>
    bool operator()(int, nlohmann::json::parse_event_t event, Json& parsed) {
        using E = nlohmann::json::parse_event_t;
        switch (event) {
        case E::object_start:
        case E::array_start:
            count_element();
            frames_.push_back({event == E::array_start, -1, {}, {}});
            break;
        case E::object_end:
        case E::array_end:
            if (!frames_.empty()) frames_.pop_back();
            break;
        case E::key:
            if (!frames_.empty()) {
                auto& top = frames_.back();
                top.key = parsed.template get<std::string>();
                if (!top.keys.insert(top.key).second && duplicate_.empty()) duplicate_ = path();
            }
            break;
        case E::value:
            count_element();
            break;
        }
        return true;
    }
    /// JSON path of the first duplicated key, or empty.
    [[nodiscard]] const std::string& duplicate() const { return duplicate_; }

private:
    struct Frame {
        bool array;
        std::int64_t index;
        std::string key;
        std::set<std::string> keys;
    };
    void count_element() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    }
    [[nodiscard]] std::string path() const {
        std::string p;
        for (const auto& f : frames_)
            p = f.array ? element_path(p, static_cast<std::size_t>(std::max<std::int64_t>(f.index, 0))) : member_path(p, f.key);
        return p;
    }
    std::vector<Frame> frames_;
    std::string duplicate_;
};

/// Reads one ruler object, naming @p what and the JSON path in every error. Json is
/// nlohmann::json or nlohmann::ordered_json (which keeps the labels in file order).
template <class Json>
class RulerParser {
    using json = Json;

public:
    explicit RulerParser(std::string what) : what_(std::move(what)) {}

    Ruler parse(const json& j) {
        if (!j.is_object()) fail("", fmt::format("expected a JSON object (a {} file), got {}", kRulerFormat, j.type_name()));
        static const std::set<std::string> known{"format", "version", "name",   "description", "sources", "root",
                                                 "branches", "stages", "edges", "labels",      "distances"};
        reject_unknown_keys(j, "", known);

        const auto format = string_at(j, "", "format", true);
        if (format != kRulerFormat)
            fail("format", fmt::format("expected \"{}\", got {}", kRulerFormat, json_excerpt_text(json(format))));
        const auto& version = require(j, "", "version");
        if (!version.is_number_integer()) fail("version", fmt::format("expected an integer, got {}", show(version)));
        if (version.template get<std::int64_t>() != kRulerFormatVersion)
            fail("version", fmt::format("version {} is not supported (this scextract reads version {})",
                                        version.template get<std::int64_t>(), kRulerFormatVersion));

        Ruler r;
        r.name = string_at(j, "", "name", true);
        if (r.name.empty()) fail("name", "must not be empty");
        r.description = string_at(j, "", "description", false);
        r.sources = strings_at(j, "", "sources", false);
        r.branches = strings_at(j, "", "branches", true);
        r.root = string_at(j, "", "root", true);

        const auto& stages = require(j, "", "stages");
        if (!stages.is_array()) fail("stages", fmt::format("expected an array of stage objects, got {}", stages.type_name()));
        // every use of a ruler (distances, depths, labels) needs a stage; refused here so no command can accept one
        if (stages.empty()) fail("stages", "the ruler has no stages (at least one is needed)");
        static const std::set<std::string> stage_keys{"name", "depth", "branch", "description"};
        for (std::size_t i = 0; i < stages.size(); ++i) {
            const auto p = element_path("stages", i);
            const auto& s = stages[i];
            if (!s.is_object()) fail(p, fmt::format("expected a stage object, got {}", show(s)));
            reject_unknown_keys(s, p, stage_keys);
            RulerStage st;
            st.name = string_at(s, p, "name", true);
            const auto& depth = require(s, p, "depth");
            if (!depth.is_number_integer()) fail(member_path(p, "depth"), fmt::format("expected an integer, got {}", show(depth)));
            st.depth = depth.template get<std::int64_t>();
            st.branch = string_at(s, p, "branch", true);
            st.description = string_at(s, p, "description", false);
            r.stages.push_back(std::move(st));
        }
        // First occurrence wins for a duplicated name; check_ruler() reports the duplicate.
        for (std::size_t i = 0; i < r.stages.size(); ++i) index_.emplace(r.stages[i].name, static_cast<std::int64_t>(i));

        const auto& edges = require(j, "", "edges");
        if (!edges.is_array()) fail("edges", fmt::format("expected an array of [stage, stage] pairs, got {}", edges.type_name()));
        for (std::size_t e = 0; e < edges.size(); ++e) {
            const auto p = element_path("edges", e);
            const auto& pair = edges[e];
            if (!pair.is_array() || pair.size() != 2)
                fail(p, fmt::format("expected a pair of stage names [\"A\", \"B\"], got {}", show(pair)));
            r.edges.emplace_back(stage_ref(pair[0], element_path(p, 0)), stage_ref(pair[1], element_path(p, 1)));
        }

        if (const auto it = j.find("labels"); it != j.end()) {
            if (!it->is_object())
                fail("labels", fmt::format("expected an object of label -> stage name, got {}", it->type_name()));
            for (const auto& [label, stage] : it->items())
                r.labels.emplace_back(label, stage_ref(stage, member_path("labels", label)));
        }

        if (const auto it = j.find("distances"); it != j.end()) r.explicit_distances = distances(*it, r);
        return r;
    }

private:
    [[noreturn]] void fail(const std::string& path, const std::string& msg) const {
        if (path.empty()) throw Error(fmt::format("{}: {}", what_, msg));
        throw Error(fmt::format("{}: {}: {}", what_, path, msg));
    }

    void reject_unknown_keys(const json& obj, const std::string& path, const std::set<std::string>& known) const {
        for (const auto& [key, value] : obj.items()) {
            if (known.count(key) != 0 || (!key.empty() && key[0] == '_')) continue;
            fail(member_path(path, key),
                 fmt::format("unknown key (expected {}; keys starting with '_' are ignored)", fmt::join(known, ", ")));
        }
    }

    const json& require(const json& obj, const std::string& path, const std::string& key) const {
        const auto it = obj.find(key);
        if (it == obj.end()) fail(path, fmt::format("missing key \"{}\"", key));
        return *it;
    }

    std::string string_at(const json& obj, const std::string& path, const std::string& key, bool required) const {
        const auto it = obj.find(key);
        if (it == obj.end()) {
            if (required) fail(path, fmt::format("missing key \"{}\"", key));
            return {};
        }
        if (!it->is_string()) fail(member_path(path, key), fmt::format("expected a string, got {}", show(*it)));
        return it->template get<std::string>();
    }

    std::vector<std::string> strings_at(const json& obj, const std::string& path, const std::string& key, bool required) const {
        const auto it = obj.find(key);
        if (it == obj.end()) {
            if (required) fail(path, fmt::format("missing key \"{}\"", key));
            return {};
        }
        const auto p = member_path(path, key);
        if (!it->is_array()) fail(p, fmt::format("expected an array of strings, got {}", it->type_name()));
        std::vector<std::string> out;
        for (std::size_t i = 0; i < it->size(); ++i) {
            const auto& v = (*it)[i];
            if (!v.is_string()) fail(element_path(p, i), fmt::format("expected a string, got {}", show(v)));
            out.push_back(v.template get<std::string>());
        }
        return out;
    }

    std::int64_t stage_ref(const json& v, const std::string& path) const {
        if (!v.is_string()) fail(path, fmt::format("expected a stage name, got {}", show(v)));
        const auto name = v.template get<std::string>();
        const auto it = index_.find(name);
        if (it == index_.end()) fail(path, fmt::format("unknown stage {}", json_excerpt_text(json(name))));
        return it->second;
    }

    Eigen::MatrixXd distances(const json& d, const Ruler& r) const {
        if (!d.is_object())
            fail("distances", fmt::format("expected an object {{\"stages\": [...], \"matrix\": [[...]]}}, got {}", d.type_name()));
        reject_unknown_keys(d, "distances", {"stages", "matrix"});
        const auto& names = require(d, "distances", "stages");
        if (!names.is_array()) fail("distances.stages", fmt::format("expected an array of stage names, got {}", names.type_name()));
        const auto n = r.stages.size();
        std::vector<std::int64_t> order;
        std::set<std::int64_t> seen;
        for (std::size_t i = 0; i < names.size(); ++i) {
            const auto p = element_path("distances.stages", i);
            const auto s = stage_ref(names[i], p);
            if (!seen.insert(s).second) fail(p, fmt::format("stage {} is listed twice", json_excerpt_text(names[i])));
            order.push_back(s);
        }
        if (order.size() != n) {
            std::vector<std::string> missing;
            for (std::size_t s = 0; s < n; ++s)
                if (seen.count(static_cast<std::int64_t>(s)) == 0) missing.push_back(r.stages[s].name);
            fail("distances.stages", fmt::format("lists {} of the {} stages; missing: {}", order.size(), n, fmt::join(missing, ", ")));
        }
        const auto& matrix = require(d, "distances", "matrix");
        if (!matrix.is_array() || matrix.size() != n)
            fail("distances.matrix", fmt::format("expected {} rows (one per entry of distances.stages), got {}", n,
                                                 matrix.is_array() ? std::to_string(matrix.size()) : matrix.type_name()));
        Eigen::MatrixXd m(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
        for (std::size_t i = 0; i < n; ++i) {
            const auto p = element_path("distances.matrix", i);
            const auto& row = matrix[i];
            if (!row.is_array() || row.size() != n)
                fail(p, fmt::format("expected a row of {} numbers, got {}", n, show(row)));
            for (std::size_t k = 0; k < n; ++k) {
                if (!row[k].is_number()) fail(element_path(p, k), fmt::format("expected a number, got {}", show(row[k])));
                m(order[i], order[k]) = row[k].template get<double>();
            }
        }
        return m;
    }

    std::string what_;
    std::unordered_map<std::string, std::int64_t> index_;
};

std::string stage_name_of(const Ruler& r, std::int64_t s, const std::string& where) {
    if (s < 0 || s >= static_cast<std::int64_t>(r.stages.size()))
        throw Error(fmt::format("ruler '{}': {} refers to stage #{}, which does not exist", r.name, where, s));
    return r.stages[static_cast<std::size_t>(s)].name;
}

} // namespace

Ruler parse_ruler_json(const nlohmann::json& j, const std::string& what) { return RulerParser<nlohmann::json>(what).parse(j); }

Ruler parse_ruler_json(const nlohmann::ordered_json& j, const std::string& what) {
    return RulerParser<nlohmann::ordered_json>(what).parse(j);
}

Ruler parse_ruler_text(std::string_view text, const std::string& what) {
    DuplicateKeyFinder finder;
    const auto j = parse_json_bounded<nlohmann::ordered_json>(
        text, what, [&finder](int depth, nlohmann::json::parse_event_t event, nlohmann::ordered_json& parsed) {
            return finder(depth, event, parsed);
        });
    if (!finder.duplicate().empty())
        throw Error(fmt::format("{}: {}: key written twice in one object", what, finder.duplicate()));
    return parse_ruler_json(j, what);
}

Ruler read_ruler_json(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open ruler file", path));
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw Error(fmt::format("{}: cannot read ruler file", path));
    return parse_ruler_text(text, path);
}

nlohmann::ordered_json ruler_to_json(const Ruler& r) {
    nlohmann::ordered_json j;
    j["format"] = kRulerFormat;
    j["version"] = kRulerFormatVersion;
    j["name"] = r.name;
    j["description"] = r.description;
    j["sources"] = r.sources;
    j["root"] = r.root;
    j["branches"] = r.branches;
    auto stages = nlohmann::ordered_json::array();
    for (const auto& s : r.stages)
        stages.push_back({{"name", s.name}, {"depth", s.depth}, {"branch", s.branch}, {"description", s.description}});
    j["stages"] = std::move(stages);
    auto edges = nlohmann::ordered_json::array();
    for (std::size_t e = 0; e < r.edges.size(); ++e) {
        const auto where = fmt::format("edge #{}", e);
        edges.push_back({stage_name_of(r, r.edges[e].first, where), stage_name_of(r, r.edges[e].second, where)});
    }
    j["edges"] = std::move(edges);
    auto labels = nlohmann::ordered_json::object();
    for (const auto& [label, s] : r.labels) labels[label] = stage_name_of(r, s, fmt::format("label '{}'", label));
    j["labels"] = std::move(labels);
    if (r.explicit_distances) {
        const auto& m = *r.explicit_distances;
        const auto n = static_cast<Eigen::Index>(r.stages.size());
        if (m.rows() != n || m.cols() != n)
            throw Error(fmt::format("ruler '{}': explicit distance matrix is {} x {} but the ruler has {} stages", r.name,
                                    m.rows(), m.cols(), n));
        auto names = nlohmann::ordered_json::array();
        for (const auto& s : r.stages) names.push_back(s.name);
        auto rows = nlohmann::ordered_json::array();
        for (Eigen::Index i = 0; i < n; ++i) {
            auto row = nlohmann::ordered_json::array();
            for (Eigen::Index k = 0; k < n; ++k) row.push_back(m(i, k));
            rows.push_back(std::move(row));
        }
        j["distances"] = {{"stages", std::move(names)}, {"matrix", std::move(rows)}};
    }
    return j;
}

void write_ruler_json(const Ruler& ruler, const std::string& path) {
    if (ruler.stages.empty()) throw Error(fmt::format("{}: ruler '{}' has no stages; a ruler file needs at least one", path, ruler.name));
    write_text_atomically(path, ruler_to_json(ruler).dump(2) + "\n");
}

std::string_view default_hematopoiesis_ruler_json() { return detail::kDefaultHematopoiesisRulerJson; }

const Ruler& default_hematopoiesis_ruler() {
    static const Ruler ruler =
        parse_ruler_text(default_hematopoiesis_ruler_json(), "built-in ruler (data/rulers/hematopoiesis.json)");
    return ruler;
}

Ruler load_ruler(const std::string& source) {
    return source == "default" ? default_hematopoiesis_ruler() : read_ruler_json(source);
}

} // namespace scx
