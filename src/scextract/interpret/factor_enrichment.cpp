#include "scextract/interpret/factor_enrichment.hpp"

#include "scextract/core/error.hpp"
#include "scextract/stats/statistics.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace scx {

namespace {

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

FactorEnrichmentResult enrich_factors(const OperatorFactors& factors, const std::vector<GeneSet>& sets,
                                      const FactorEnrichmentOptions& o) {
    if (o.top_genes < 1) throw Error(fmt::format("enrichment: {} top genes (need at least 1)", o.top_genes));
    FactorEnrichmentResult out;
    const auto g = static_cast<std::int64_t>(factors.genes.size());
    out.universe = g;
    out.sets_given = static_cast<std::int64_t>(sets.size());
    std::unordered_map<std::string, std::int64_t> position;
    for (std::int64_t i = 0; i < g; ++i) position.emplace(upper(factors.genes[static_cast<std::size_t>(i)]), i);

    // each set as a membership mask over the panel
    struct Tested {
        const GeneSet* set;
        std::vector<bool> member;
        std::int64_t size;
    };
    std::vector<Tested> tested;
    for (const auto& s : sets) {
        std::vector<bool> member(static_cast<std::size_t>(g), false);
        std::int64_t n = 0;
        for (const auto& gene : s.genes) {
            const auto it = position.find(upper(gene));
            if (it != position.end() && !member[static_cast<std::size_t>(it->second)]) {
                member[static_cast<std::size_t>(it->second)] = true;
                ++n;
            }
        }
        if (n == 0) ++out.sets_without_panel_genes;
        if (n >= o.min_set_genes && n <= o.max_set_genes) tested.push_back({&s, std::move(member), n});
    }
    out.sets_tested = static_cast<std::int64_t>(tested.size());
    if (tested.empty())
        throw Error(fmt::format("enrichment: none of the {} gene sets has {} to {} genes in the {}-gene panel ({} share no gene "
                                "with it; are the sets human gene symbols?)",
                                sets.size(), o.min_set_genes, o.max_set_genes, g, out.sets_without_panel_genes));

    for (std::int64_t f = 0; f < factors.size(); ++f) {
        for (const char* side : {"read", "write"}) {
            const Eigen::VectorXd v = std::string_view(side) == "read" ? factors.read.col(f) : factors.write.col(f);
            const auto top = top_loadings(v, factors.genes, o.top_genes);
            const auto n = static_cast<std::int64_t>(top.size());
            for (const auto& t : tested) {
                EnrichmentTest e;
                for (const auto& l : top)
                    if (t.member[static_cast<std::size_t>(l.position)]) e.genes.push_back(l.gene);
                e.overlap = static_cast<std::int64_t>(e.genes.size());
                if (e.overlap == 0) continue; // p = 1; listing it would only bury the rest
                e.factor = f;
                e.side = side;
                e.set = t.set->name;
                e.source = t.set->source;
                e.set_in_panel = t.size;
                e.fold = static_cast<double>(e.overlap) * static_cast<double>(g) /
                         (static_cast<double>(n) * static_cast<double>(t.size));
                e.p = hypergeometric_upper_tail(e.overlap, g, t.size, n);
                out.tests.push_back(std::move(e));
            }
        }
    }
    // BH over every test that could have been run: untested (zero-overlap) ones have p = 1
    std::vector<double> p;
    for (const auto& e : out.tests) p.push_back(e.p);
    const auto n_tests = static_cast<std::size_t>(factors.size()) * 2 * tested.size();
    p.resize(n_tests, 1.0);
    const auto q = benjamini_hochberg(p);
    for (std::size_t i = 0; i < out.tests.size(); ++i) out.tests[i].q = q[i];
    std::stable_sort(out.tests.begin(), out.tests.end(), [](const auto& x, const auto& y) {
        if (x.factor != y.factor) return x.factor < y.factor;
        if (x.side != y.side) return x.side == "read";
        if (x.p != y.p) return x.p < y.p;
        return x.set < y.set;
    });
    return out;
}

} // namespace scx
