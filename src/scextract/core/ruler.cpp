#include "scextract/core/ruler.hpp"

#include "scextract/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

namespace scx {

namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_word_char(char c) { return is_alnum(c) || static_cast<unsigned char>(c) >= 0x80; }

std::int64_t n_stages(const Ruler& r) { return static_cast<std::int64_t>(r.stages.size()); }

/// Hop distances from @p source; -1 for unreachable stages. Edges must be in range.
std::vector<std::int64_t> bfs(const std::vector<std::vector<std::int64_t>>& adj, std::int64_t source) {
    std::vector<std::int64_t> dist(adj.size(), -1);
    std::deque<std::int64_t> queue{source};
    dist[static_cast<std::size_t>(source)] = 0;
    while (!queue.empty()) {
        const auto u = queue.front();
        queue.pop_front();
        for (const auto v : adj[static_cast<std::size_t>(u)])
            if (dist[static_cast<std::size_t>(v)] < 0) {
                dist[static_cast<std::size_t>(v)] = dist[static_cast<std::size_t>(u)] + 1;
                queue.push_back(v);
            }
    }
    return dist;
}

/// Adjacency lists of the edges that are in range (others are skipped; check_ruler reports them).
std::vector<std::vector<std::int64_t>> adjacency(const Ruler& r) {
    std::vector<std::vector<std::int64_t>> adj(r.stages.size());
    for (const auto& [a, b] : r.edges)
        if (a >= 0 && b >= 0 && a < n_stages(r) && b < n_stages(r) && a != b) {
            adj[static_cast<std::size_t>(a)].push_back(b);
            adj[static_cast<std::size_t>(b)].push_back(a);
        }
    return adj;
}

std::string stage_label(const Ruler& r, std::int64_t i) {
    if (i >= 0 && i < n_stages(r)) return fmt::format("'{}'", r.stages[static_cast<std::size_t>(i)].name);
    return fmt::format("#{}", i);
}

/// Normalised key -> stage, built from stage names and label keys (first entry wins).
std::unordered_map<std::string, std::int64_t> normalized_index(const Ruler& r) {
    std::unordered_map<std::string, std::int64_t> index;
    for (std::int64_t s = 0; s < n_stages(r); ++s) {
        auto key = normalize_label(r.stages[static_cast<std::size_t>(s)].name);
        if (!key.empty()) index.emplace(std::move(key), s);
    }
    for (const auto& [label, s] : r.labels) {
        auto key = normalize_label(label);
        if (!key.empty()) index.emplace(std::move(key), s);
    }
    return index;
}

} // namespace

std::string normalize_label(std::string_view label) {
    std::vector<std::string> words(1);
    const auto n = label.size();
    for (std::size_t i = 0; i < n; ++i) {
        const char c = label[i];
        if (is_word_char(c)) {
            words.back().push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
        } else if (c == '+') {
            continue; // "CD14+" is "CD14"
        } else if (c == '-' && i > 0 && is_alnum(label[i - 1]) && (i + 1 == n || !is_alnum(label[i + 1]))) {
            words.back().push_back('-'); // negative marker: "CD16-"
        } else if (!words.back().empty()) {
            words.emplace_back();
        }
    }
    std::string out;
    for (auto& w : words) {
        if (w.size() >= 3 && w.back() == 's' && w[w.size() - 2] != 's') w.pop_back();
        if (w == "cell") continue;
        out += w;
    }
    return out;
}

std::int64_t Ruler::stage_index(std::string_view stage_name) const {
    for (std::size_t i = 0; i < stages.size(); ++i)
        if (stages[i].name == stage_name) return static_cast<std::int64_t>(i);
    return -1;
}

std::int64_t Ruler::stage_of_label(std::string_view label) const {
    if (const auto s = stage_index(label); s >= 0) return s;
    for (const auto& [key, s] : labels)
        if (key == label) return s;
    const auto key = normalize_label(label);
    if (key.empty()) return -1;
    for (std::size_t s = 0; s < stages.size(); ++s)
        if (normalize_label(stages[s].name) == key) return static_cast<std::int64_t>(s);
    for (const auto& [l, s] : labels)
        if (normalize_label(l) == key) return s;
    return -1;
}

std::vector<std::int64_t> stages_of_labels(const Ruler& ruler, const std::vector<std::string>& labels) {
    std::unordered_map<std::string, std::int64_t> exact;
    for (std::int64_t s = 0; s < n_stages(ruler); ++s) exact.emplace(ruler.stages[static_cast<std::size_t>(s)].name, s);
    for (const auto& [label, s] : ruler.labels) exact.emplace(label, s);
    const auto normalized = normalized_index(ruler);
    std::vector<std::int64_t> out;
    out.reserve(labels.size());
    for (const auto& label : labels) {
        if (const auto it = exact.find(label); it != exact.end()) {
            out.push_back(it->second);
            continue;
        }
        const auto key = normalize_label(label);
        const auto it = key.empty() ? normalized.end() : normalized.find(key);
        out.push_back(it == normalized.end() ? -1 : it->second);
    }
    return out;
}

Eigen::MatrixXd ruler_distances(const Ruler& ruler) {
    const auto n = n_stages(ruler);
    if (ruler.explicit_distances) {
        const auto& m = *ruler.explicit_distances;
        if (m.rows() != n || m.cols() != n)
            throw Error(fmt::format("ruler '{}': explicit distance matrix is {} x {} but the ruler has {} stages",
                                    ruler.name, m.rows(), m.cols(), n));
        return m;
    }
    for (std::size_t e = 0; e < ruler.edges.size(); ++e) {
        const auto [a, b] = ruler.edges[e];
        if (a < 0 || b < 0 || a >= n || b >= n)
            throw Error(fmt::format("ruler '{}': edge {} ({}, {}) refers to a stage that does not exist ({} stages)",
                                    ruler.name, e, a, b, n));
    }
    const auto adj = adjacency(ruler);
    Eigen::MatrixXd d(n, n);
    for (std::int64_t s = 0; s < n; ++s) {
        const auto hops = bfs(adj, s);
        for (std::int64_t t = 0; t < n; ++t) {
            if (hops[static_cast<std::size_t>(t)] < 0)
                throw Error(fmt::format("ruler '{}': stages {} and {} are not connected, so they have no distance",
                                        ruler.name, stage_label(ruler, s), stage_label(ruler, t)));
            d(s, t) = static_cast<double>(hops[static_cast<std::size_t>(t)]);
        }
    }
    return d;
}

RulerCheckResult check_ruler(const Ruler& ruler, const std::vector<std::string>& labels_to_map) {
    RulerCheckResult res;
    auto& errors = res.errors;
    auto& warnings = res.warnings;
    const auto n = n_stages(ruler);

    if (n == 0) errors.push_back("the ruler has no stages");

    // Branches: declared, unique, used.
    std::map<std::string, std::int64_t> branch_seen;
    for (const auto& b : ruler.branches) {
        if (b.empty()) errors.push_back("a declared branch name is empty");
        else if (!branch_seen.emplace(b, 0).second) errors.push_back(fmt::format("branch '{}' is declared twice", b));
    }

    // Stages: names, depths, branches.
    std::map<std::string, std::int64_t> first_of_name;
    std::vector<std::string> undeclared;
    for (std::int64_t s = 0; s < n; ++s) {
        const auto& st = ruler.stages[static_cast<std::size_t>(s)];
        if (st.name.empty()) errors.push_back(fmt::format("stage #{} has an empty name", s));
        else if (const auto [it, fresh] = first_of_name.emplace(st.name, s); !fresh)
            errors.push_back(fmt::format("stage name '{}' is used twice (stages #{} and #{})", st.name, it->second, s));
        if (st.depth < 0) errors.push_back(fmt::format("stage '{}' has negative depth {}", st.name, st.depth));
        res.max_depth = std::max(res.max_depth, st.depth);
        if (const auto it = branch_seen.find(st.branch); it != branch_seen.end()) {
            ++it->second;
        } else {
            errors.push_back(st.branch.empty() ? fmt::format("stage '{}' has no branch", st.name)
                                               : fmt::format("stage '{}' has branch '{}', which is not declared in branches",
                                                             st.name, st.branch));
            if (std::find(undeclared.begin(), undeclared.end(), st.branch) == undeclared.end())
                undeclared.push_back(st.branch);
        }
    }
    for (const auto& b : ruler.branches) {
        const auto it = branch_seen.find(b);
        if (it != branch_seen.end() && it->second == 0) warnings.push_back(fmt::format("branch '{}' has no stages", b));
    }
    {
        std::set<std::string> listed;
        for (const auto& b : ruler.branches)
            if (listed.insert(b).second) res.branch_counts.push_back({b, branch_seen[b]});
        for (const auto& b : undeclared) {
            std::int64_t count = 0;
            for (const auto& st : ruler.stages) count += st.branch == b ? 1 : 0;
            res.branch_counts.push_back({b, count});
        }
    }

    // Root.
    std::int64_t root = -1;
    if (n == 0) {
        // nothing to root
    } else if (ruler.root.empty()) {
        errors.push_back("no root stage is named");
    } else {
        root = ruler.stage_index(ruler.root);
        if (root < 0) errors.push_back(fmt::format("root '{}' is not a stage", ruler.root));
        else if (ruler.stages[static_cast<std::size_t>(root)].depth != 0)
            errors.push_back(fmt::format("root '{}' has depth {}, not 0", ruler.root,
                                         ruler.stages[static_cast<std::size_t>(root)].depth));
    }
    // With a missing root the depth-0 stages are the candidates, not errors of their own.
    for (std::int64_t s = 0; root >= 0 && s < n; ++s) {
        const auto& st = ruler.stages[static_cast<std::size_t>(s)];
        if (st.depth == 0 && s != root)
            errors.push_back(fmt::format("stage '{}' has depth 0 but is not the root '{}'", st.name, ruler.root));
    }

    // Edges.
    std::set<std::pair<std::int64_t, std::int64_t>> seen_edges;
    for (std::size_t e = 0; e < ruler.edges.size(); ++e) {
        const auto [a, b] = ruler.edges[e];
        if (a < 0 || b < 0 || a >= n || b >= n) {
            errors.push_back(fmt::format("edge #{} ({}, {}) refers to a stage that does not exist ({} stages)", e, a, b, n));
            continue;
        }
        if (a == b) {
            errors.push_back(fmt::format("edge #{} joins stage {} to itself", e, stage_label(ruler, a)));
            continue;
        }
        if (!seen_edges.emplace(std::min(a, b), std::max(a, b)).second)
            errors.push_back(fmt::format("edge #{} {} - {} is listed twice", e, stage_label(ruler, a), stage_label(ruler, b)));
    }

    // Graph structure: connected, depth = hops from the root. Errors for graph rulers,
    // warnings when an explicit matrix defines the distances and the edges only illustrate.
    const bool graph_ruler = !ruler.explicit_distances.has_value();
    if (n > 0 && (graph_ruler || !ruler.edges.empty())) {
        auto& sink = graph_ruler ? errors : warnings;
        const auto adj = adjacency(ruler);
        const auto hops = bfs(adj, root >= 0 ? root : 0);
        std::vector<std::string> unreachable;
        for (std::int64_t s = 0; s < n; ++s)
            if (hops[static_cast<std::size_t>(s)] < 0) unreachable.push_back(ruler.stages[static_cast<std::size_t>(s)].name);
        if (!unreachable.empty())
            sink.push_back(fmt::format("the stage graph is not connected: {} stage(s) cannot be reached from {}: {}",
                                       unreachable.size(), stage_label(ruler, root >= 0 ? root : 0),
                                       fmt::join(unreachable, ", ")));
        if (root >= 0)
            for (std::int64_t s = 0; s < n; ++s) {
                const auto h = hops[static_cast<std::size_t>(s)];
                const auto& st = ruler.stages[static_cast<std::size_t>(s)];
                if (h >= 0 && h != st.depth)
                    sink.push_back(fmt::format("stage '{}' has depth {} but is {} hop(s) from the root '{}'", st.name,
                                               st.depth, h, ruler.root));
            }
    }

    // Explicit matrix.
    if (ruler.explicit_distances) {
        const auto& m = *ruler.explicit_distances;
        if (m.rows() != n || m.cols() != n) {
            errors.push_back(fmt::format("the explicit distance matrix is {} x {} but the ruler has {} stages", m.rows(),
                                         m.cols(), n));
        } else {
            std::int64_t zero_pairs = 0, triangle = 0;
            for (std::int64_t i = 0; i < n; ++i)
                for (std::int64_t j = 0; j < n; ++j) {
                    const double v = m(i, j);
                    if (!std::isfinite(v)) {
                        errors.push_back(fmt::format("distance {} - {} is not finite", stage_label(ruler, i), stage_label(ruler, j)));
                        continue;
                    }
                    if (i == j) {
                        if (v != 0.0)
                            errors.push_back(fmt::format("distance of {} to itself is {}, not 0", stage_label(ruler, i), v));
                        continue;
                    }
                    if (v < 0.0)
                        errors.push_back(fmt::format("distance {} - {} is negative ({})", stage_label(ruler, i),
                                                     stage_label(ruler, j), v));
                    if (j > i) {
                        if (v != m(j, i))
                            errors.push_back(fmt::format("the distance matrix is not symmetric: {} - {} is {} but {} - {} is {}",
                                                         stage_label(ruler, i), stage_label(ruler, j), v,
                                                         stage_label(ruler, j), stage_label(ruler, i), m(j, i)));
                        if (v == 0.0) ++zero_pairs;
                    }
                }
            if (m.allFinite()) {
                constexpr double kTol = 1e-9;
                for (std::int64_t i = 0; i < n; ++i)
                    for (std::int64_t j = i + 1; j < n; ++j)
                        for (std::int64_t k = 0; k < n; ++k)
                            if (m(i, j) > m(i, k) + m(k, j) + kTol * (1.0 + std::abs(m(i, j)))) {
                                ++triangle;
                                break;
                            }
            }
            if (zero_pairs > 0)
                warnings.push_back(fmt::format("{} pair(s) of different stages are at distance 0", zero_pairs));
            if (triangle > 0)
                warnings.push_back(fmt::format("{} pair(s) of stages are farther apart than through some third stage "
                                               "(the matrix is not a metric)",
                                               triangle));
        }
    }

    // Labels.
    if (ruler.labels.empty()) warnings.push_back("the ruler maps no labels (only exact stage names will map)");
    std::map<std::string, std::int64_t> exact;
    for (const auto& [label, s] : ruler.labels) {
        if (label.empty()) {
            errors.push_back("a label is empty");
            continue;
        }
        if (s < 0 || s >= n) {
            errors.push_back(fmt::format("label '{}' maps to stage #{}, which does not exist", label, s));
            continue;
        }
        if (const auto [it, fresh] = exact.emplace(label, s); !fresh && it->second != s)
            errors.push_back(fmt::format("label '{}' is mapped to two stages: {} and {}", label, stage_label(ruler, it->second),
                                         stage_label(ruler, s)));
        if (const auto named = ruler.stage_index(label); named >= 0 && named != s)
            errors.push_back(fmt::format("label '{}' is the name of stage {} but is mapped to {}", label,
                                         stage_label(ruler, named), stage_label(ruler, s)));
    }
    {
        // Same normalised form, different stages: the lookup would depend on the order.
        struct Entry {
            std::string text;
            std::int64_t stage;
        };
        std::map<std::string, Entry> by_key;
        auto visit = [&](const std::string& text, std::int64_t s, const char* kind) {
            if (s < 0 || s >= n) return;
            const auto key = normalize_label(text);
            if (key.empty()) {
                warnings.push_back(fmt::format("{} '{}' has no letters or digits, so only its exact text maps", kind, text));
                return;
            }
            const auto [it, fresh] = by_key.emplace(key, Entry{text, s});
            if (!fresh && it->second.stage != s && it->second.text != text)
                errors.push_back(fmt::format("'{}' ({}) and '{}' ({}) are the same label after normalisation ('{}')",
                                             it->second.text, stage_label(ruler, it->second.stage), text,
                                             stage_label(ruler, s), key));
        };
        for (std::int64_t s = 0; s < n; ++s) visit(ruler.stages[static_cast<std::size_t>(s)].name, s, "stage name");
        for (const auto& [label, s] : ruler.labels) visit(label, s, "label");
    }

    // Labels to map (e.g. a dataset's cell types).
    if (!labels_to_map.empty()) {
        std::vector<std::string> distinct;
        std::set<std::string> seen;
        for (const auto& l : labels_to_map)
            if (seen.insert(l).second) distinct.push_back(l);
        const auto stages = stages_of_labels(ruler, distinct);
        for (std::size_t k = 0; k < distinct.size(); ++k) {
            if (stages[k] >= 0 && stages[k] < n) res.mapped_labels.emplace_back(distinct[k], stages[k]);
            else res.unknown_labels.push_back(distinct[k]);
        }
    }

    res.ok = errors.empty();
    return res;
}

} // namespace scx
