#include "scextract/interpret/program_recovery.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/quantile.hpp"
#include "scextract/core/random.hpp"
#include "scextract/stats/statistics.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

namespace scx {

namespace {

/// A factor side's top genes as a panel mask.
struct FactorSet {
    std::int64_t factor;
    const char* side;
    std::vector<bool> member;
    std::int64_t size;
};

struct Best {
    double jaccard = 0;
    std::int64_t overlap = 0;
    const FactorSet* set = nullptr;
};

Best best_match(const std::vector<std::int64_t>& genes, const std::vector<FactorSet>& sets) {
    Best best;
    for (const auto& s : sets) {
        std::int64_t k = 0;
        for (const auto g : genes) k += s.member[static_cast<std::size_t>(g)];
        const double j = static_cast<double>(k) / static_cast<double>(static_cast<std::int64_t>(genes.size()) + s.size - k);
        if (j > best.jaccard) best = {j, k, &s};
    }
    return best;
}

} // namespace

ProgramRecoveryResult recover_programs(const OperatorFactors& factors, const std::vector<GeneProgram>& programs,
                                       const ProgramRecoveryOptions& o) {
    if (o.permutations < 1) throw Error(fmt::format("program recovery: {} permutations (need at least 1)", o.permutations));
    const auto g = static_cast<std::int64_t>(factors.genes.size());
    std::unordered_map<std::string, std::int64_t> position;
    for (std::int64_t i = 0; i < g; ++i) position.emplace(factors.genes[static_cast<std::size_t>(i)], i);

    std::vector<FactorSet> sets;
    for (std::int64_t f = 0; f < std::min(o.factors, factors.size()); ++f)
        for (const char* side : {"read", "write"}) {
            const Eigen::VectorXd v = std::string_view(side) == "read" ? factors.read.col(f) : factors.write.col(f);
            FactorSet s{f, side, std::vector<bool>(static_cast<std::size_t>(g), false), 0};
            for (const auto& l : top_loadings(v, factors.genes, o.top_genes)) s.member[static_cast<std::size_t>(l.position)] = true;
            s.size = static_cast<std::int64_t>(std::count(s.member.begin(), s.member.end(), true));
            sets.push_back(std::move(s));
        }

    ProgramRecoveryResult out;
    // one null per program size: the same random sets serve every program of that size
    std::unordered_map<std::int64_t, std::vector<double>> null_of_size;
    std::vector<std::int64_t> all(static_cast<std::size_t>(g));
    std::iota(all.begin(), all.end(), 0);
    std::vector<double> p;
    for (const auto& prog : programs) {
        std::vector<std::int64_t> genes;
        for (const auto& gene : prog.genes) {
            const auto it = position.find(gene);
            if (it != position.end() && std::find(genes.begin(), genes.end(), it->second) == genes.end())
                genes.push_back(it->second);
        }
        const auto n = static_cast<std::int64_t>(genes.size());
        if (n < o.min_program_genes) {
            out.skipped.push_back(prog.name);
            continue;
        }
        auto& null = null_of_size[n];
        if (null.empty()) {
            Rng rng(o.seed, static_cast<std::uint64_t>(n));
            std::vector<std::int64_t> pool = all, draw(static_cast<std::size_t>(n));
            for (std::int64_t b = 0; b < o.permutations; ++b) {
                // partial Fisher-Yates: the first n of a fresh shuffle
                for (std::int64_t i = 0; i < n; ++i) {
                    const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(g - i)));
                    std::swap(pool[static_cast<std::size_t>(i)], pool[static_cast<std::size_t>(j)]);
                    draw[static_cast<std::size_t>(i)] = pool[static_cast<std::size_t>(i)];
                }
                null.push_back(best_match(draw, sets).jaccard);
            }
        }
        ProgramMatch m;
        m.program = prog.name;
        m.genes_in_panel = n;
        const auto best = best_match(genes, sets);
        m.jaccard = best.jaccard;
        m.overlap = best.overlap;
        if (best.set) {
            m.factor = best.set->factor;
            m.side = best.set->side;
        }
        m.null_mean = std::accumulate(null.begin(), null.end(), 0.0) / static_cast<double>(null.size());
        std::vector<double> sorted = null;
        std::sort(sorted.begin(), sorted.end());
        m.null_q95 = sorted_quantile(sorted, 0.95);
        const auto at_least = std::count_if(null.begin(), null.end(), [&](double v) { return v >= m.jaccard; });
        m.p = static_cast<double>(1 + at_least) / static_cast<double>(1 + o.permutations);
        p.push_back(m.p);
        out.programs.push_back(std::move(m));
    }
    if (out.programs.empty())
        throw Error(fmt::format("program recovery: none of the {} programs has {} genes in the {}-gene panel", programs.size(),
                                o.min_program_genes, g));
    const auto q = benjamini_hochberg(p);
    std::vector<double> jaccards;
    for (std::size_t i = 0; i < out.programs.size(); ++i) {
        auto& m = out.programs[i];
        m.q = q[i];
        m.recovered = m.q < o.fdr;
        out.n_recovered += m.recovered;
        jaccards.push_back(m.jaccard);
    }
    out.fraction_recovered = static_cast<double>(out.n_recovered) / static_cast<double>(out.programs.size());
    out.median_jaccard = median(jaccards);
    return out;
}

} // namespace scx
