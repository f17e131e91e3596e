#include "scextract/simulate/simulator.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/random.hpp"
#include "scextract/simulate/stage_markers.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace scx {

namespace {

// Random streams of the design and (with a separate design seed) of the donors;
// cells use streams 0..n_cells-1.
constexpr std::uint64_t kDesignStream = 0xFFFFFFFFFFFF0001ULL;
constexpr std::uint64_t kDonorStream = 0xFFFFFFFFFFFF0002ULL;

/// Index drawn with probability proportional to @p weights (which sum to 1).
std::int64_t categorical(Rng& rng, const std::vector<double>& weights) {
    double u = rng.uniform();
    for (std::size_t i = 0; i + 1 < weights.size(); ++i) {
        if (u < weights[i]) return static_cast<std::int64_t>(i);
        u -= weights[i];
    }
    return static_cast<std::int64_t>(weights.size()) - 1;
}

void normalise(std::vector<double>& w) {
    const double sum = std::accumulate(w.begin(), w.end(), 0.0);
    for (auto& x : w) x /= sum;
}

/// Protein-coding-looking symbols only for random picks: no clone-based names (RP11-..., AC012345.1),
/// microRNA / lincRNA / snoRNA hosts or numbered pseudogenes (EEF1A1P24), which real panels rarely show.
bool plain_symbol(const std::string& s) {
    if (s.find_first_of("._") != std::string::npos || s.find("-AS") != std::string::npos) return false;
    if (s.size() >= 2 && s.back() == 'P' && std::isdigit(static_cast<unsigned char>(s[s.size() - 2]))) return false;
    for (const char* prefix : {"MIR", "LINC", "SNOR", "RNU", "RNA5", "SCARNA", "LOC", "RP1", "RP3", "RP4", "RP5", "RP6", "RP11", "CT", "AC0", "AC1",
                               "AL0", "AL1", "AP0", "FLJ", "KIAA"})
        if (s.starts_with(prefix)) return false;
    std::size_t digits = 0; // trailing P<digits>: a numbered pseudogene
    while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[s.size() - 1 - digits]))) ++digits;
    if (digits > 0 && digits < s.size() && s[s.size() - 1 - digits] == 'P') return false;
    return true;
}

/// Picks genes for the programs in a fixed order, each symbol at most once.
class GenePicker {
public:
    GenePicker(const std::vector<std::string>& vocabulary, Rng& rng) : rng_(rng) {
        for (const auto& s : vocabulary)
            if (!s.empty() && s.front() != '<' && in_vocab_.insert(s).second && plain_symbol(s)) pool_.push_back(s);
    }
    [[nodiscard]] bool has(const std::string& s) const { return in_vocab_.contains(s); }
    /// The gene's index in @p genes, adding it with @p role / @p program when new.
    std::int64_t add(const std::string& symbol, const std::string& role, const std::string& program,
                     std::vector<SimulatedGene>& genes) {
        const auto it = index_.find(symbol);
        if (it != index_.end()) return it->second;
        const auto idx = static_cast<std::int64_t>(genes.size());
        genes.push_back({symbol, role, program, 0.0});
        index_.emplace(symbol, idx);
        return idx;
    }
    /// A random vocabulary gene not used yet.
    std::string random_unused() {
        if (index_.size() >= pool_.size()) throw Error("the vocabulary has too few genes for the simulation");
        for (;;) {
            const auto& s = pool_[rng_.below(pool_.size())];
            if (!index_.contains(s)) return s;
        }
    }
    [[nodiscard]] std::size_t pool_size() const { return pool_.size(); }

private:
    Rng& rng_;
    std::vector<std::string> pool_;
    std::unordered_set<std::string> in_vocab_;
    std::unordered_map<std::string, std::int64_t> index_;
};

} // namespace

std::int64_t simulation_gene_pool_size(const std::vector<std::string>& vocabulary) {
    Rng unused(0);
    return static_cast<std::int64_t>(GenePicker(vocabulary, unused).pool_size());
}

namespace {

/// The ruler as errors name it: its file when known, else its name field.
std::string ruler_source(const SimulationOptions& o, const Ruler& ruler) {
    return o.ruler_source.empty() ? fmt::format("simulate: ruler '{}'", ruler.name) : o.ruler_source;
}

void check_options(const SimulationOptions& o, const Ruler& ruler) {
    if (o.n_cells < 1) throw Error(fmt::format("simulate: --cells must be >= 1, got {}", o.n_cells));
    if (o.cell_offset < 0) throw Error(fmt::format("simulate: --cell-offset must be >= 0, got {}", o.cell_offset));
    if (o.n_donors < 1) throw Error(fmt::format("simulate: --donors must be >= 1, got {}", o.n_donors));
    if (o.tissues.empty()) throw Error("simulate: at least one tissue is needed");
    if (!(o.nb_theta > 0) || !(o.library_size_mean > 0) || !(o.library_size_sdlog >= 0))
        throw Error("simulate: nb_theta and library_size_mean must be > 0, library_size_sdlog >= 0");
    const auto source = ruler_source(o, ruler);
    const auto check = check_ruler(ruler);
    if (!check.ok) throw Error(fmt::format("{}: the ruler is not valid: {}", source, fmt::join(check.errors, "; ")));
    if (ruler.explicit_distances)
        throw Error(fmt::format("{}: the ruler is a distance matrix; the simulator needs a stage graph", source));
    if (ruler.stages.size() < 2)
        throw Error(fmt::format("{}: the ruler has {} stage(s); the simulator needs at least two", source, ruler.stages.size()));
}

/// Parents, branches and labels of the ruler's stages.
SimulationDesign graph_design(const Ruler& ruler, const SimulationOptions& o) {
    SimulationDesign d;
    d.options = o;
    d.ruler = ruler;
    const auto n_stages = static_cast<std::int64_t>(ruler.stages.size());
    const auto n_branches = static_cast<std::int64_t>(ruler.branches.size());
    // Each non-root stage hangs off its first neighbour one hop closer to the root.
    d.parent.assign(n_stages, -1);
    for (const auto& [a, b] : ruler.edges) {
        for (const auto& [p, c] : {std::pair{a, b}, std::pair{b, a}}) {
            if (ruler.stages[c].depth == ruler.stages[p].depth + 1 && d.parent[c] < 0) d.parent[c] = p;
        }
    }
    d.branch_of_stage.resize(n_stages);
    d.branch_max_depth.assign(n_branches, 1);
    for (std::int64_t s = 0; s < n_stages; ++s) {
        const auto it = std::find(ruler.branches.begin(), ruler.branches.end(), ruler.stages[s].branch);
        d.branch_of_stage[s] = it - ruler.branches.begin();
        d.branch_max_depth[d.branch_of_stage[s]] =
            std::max(d.branch_max_depth[d.branch_of_stage[s]], ruler.stages[s].depth);
    }
    d.stage_labels.resize(n_stages);
    for (std::int64_t s = 0; s < n_stages; ++s) d.stage_labels[s] = ruler.stages[s].name;
    for (const auto& [label, s] : ruler.labels) // the first synonym, so data carry labels as people write them
        if (d.stage_labels[s] == ruler.stages[s].name && label != ruler.stages[s].name) d.stage_labels[s] = label;
    return d;
}

/// Donors: sizes, gene effects, composition per donor x tissue, drawn from @p design_rng
/// when no separate design seed is set (the original layout), else from the cell seed.
/// Spreads come from d.options; @p library_sdlog > 0 adds a per-donor library shift.
void draw_donors(SimulationDesign& d, Rng& design_rng, double library_sdlog) {
    const auto& o = d.options;
    const bool separate = o.design_seed.has_value();
    Rng donor_stream(o.seed, kDonorStream);
    Rng& rng = separate ? donor_stream : design_rng;
    const auto& ruler = d.ruler;
    const auto n_stages = static_cast<std::int64_t>(ruler.stages.size());
    const std::int64_t root = ruler.stage_index(ruler.root);
    std::vector<double> stage_weight(n_stages, 0.0);
    for (std::int64_t s = 0; s < n_stages; ++s)
        if (s != root) stage_weight[s] = std::exp(0.3 * rng.normal());
    const bool at_reference = !d.reference_stage_weight.empty();
    if (at_reference) stage_weight = d.reference_stage_weight;
    double mean_depth = 0;
    for (const auto& st : ruler.stages) mean_depth += static_cast<double>(st.depth) / static_cast<double>(n_stages);
    const auto n_tissues = static_cast<std::int64_t>(o.tissues.size());
    for (std::int64_t k = 0; k < o.n_donors; ++k) {
        d.donors.push_back(separate ? fmt::format("s{}_D{:02d}", o.seed, k + 1) : fmt::format("D{:02d}", k + 1));
        d.donor_weight.push_back(std::exp(0.3 * rng.normal()));
        std::vector<double> gene_effect(d.genes.size());
        for (auto& e : gene_effect) e = o.donor_gene_sd * rng.normal();
        d.donor_gene_effect.push_back(std::move(gene_effect));
        std::vector<double> donor_shift(n_stages);
        for (auto& x : donor_shift) x = o.donor_composition_sd * rng.normal();
        for (std::int64_t t = 0; t < n_tissues; ++t) {
            // tissue 0 (bone marrow by default) favours progenitors, the last mature cells
            const double slope =
                n_tissues == 1 ? 0.0 : o.tissue_depth_slope * (2.0 * static_cast<double>(t) / (n_tissues - 1) - 1.0);
            std::vector<double> w(n_stages, 0.0);
            for (std::int64_t s = 0; s < n_stages; ++s)
                if (s != root || at_reference)
                    w[s] = stage_weight[s] *
                           std::exp(donor_shift[s] + slope * (static_cast<double>(ruler.stages[s].depth) - mean_depth));
            normalise(w);
            d.composition.push_back(std::move(w));
        }
        if (library_sdlog > 0) d.donor_log_library.push_back(library_sdlog * rng.normal());
    }
    normalise(d.donor_weight);
}

} // namespace

SimulationDesign design_simulation(const Ruler& ruler, const std::vector<std::string>& vocabulary,
                                   const SimulationOptions& options) {
    const auto& o = options;
    check_options(o, ruler);
    SimulationDesign d = graph_design(ruler, o);
    const auto n_stages = static_cast<std::int64_t>(ruler.stages.size());
    const auto n_branches = static_cast<std::int64_t>(ruler.branches.size());

    Rng rng(o.design_seed.value_or(o.seed), kDesignStream);
    GenePicker picker(vocabulary, rng);
    const auto stage_prog = [&](std::int64_t s) { return "stage:" + ruler.stages[s].name; };
    const auto branch_prog = [&](std::int64_t b) { return "branch:" + ruler.branches[b]; };
    const auto effect = [&] { return o.program_effect_min + (o.program_effect_max - o.program_effect_min) * rng.uniform(); };

    d.stage_effects.resize(n_stages);
    for (std::int64_t s = 0; s < n_stages; ++s) {
        std::vector<std::int64_t> members;
        for (const auto& m : stage_markers(ruler.stages[s].name)) {
            if (static_cast<std::int64_t>(members.size()) >= o.stage_program_size) break;
            if (picker.has(m)) members.push_back(picker.add(m, "marker", stage_prog(s), d.genes));
        }
        while (static_cast<std::int64_t>(members.size()) < o.stage_program_size)
            members.push_back(picker.add(picker.random_unused(), "stage_program", stage_prog(s), d.genes));
        for (const auto g : members) d.stage_effects[s].emplace_back(g, effect());
        d.programs.emplace_back(stage_prog(s), members);
    }
    d.branch_effects.resize(n_branches);
    for (std::int64_t b = 0; b < n_branches; ++b) {
        std::vector<std::int64_t> members;
        while (static_cast<std::int64_t>(members.size()) < o.branch_program_size)
            members.push_back(picker.add(picker.random_unused(), "branch_program", branch_prog(b), d.genes));
        for (const auto g : members) d.branch_effects[b].emplace_back(g, effect());
        d.programs.emplace_back(branch_prog(b), members);
    }
    for (const auto& h : housekeeping_genes())
        if (picker.has(h)) picker.add(h, "housekeeping", "", d.genes);
    const auto structured = static_cast<std::int64_t>(d.genes.size());
    if (o.n_genes < structured)
        throw Error(fmt::format("simulate: this ruler's programs and housekeeping genes need at least {} genes, "
                                "--genes is {}",
                                structured, o.n_genes));
    if (static_cast<std::size_t>(o.n_genes) > picker.pool_size())
        throw Error(fmt::format("simulate: --genes {} is more than the vocabulary's {} genes", o.n_genes,
                                picker.pool_size()));
    while (static_cast<std::int64_t>(d.genes.size()) < o.n_genes)
        picker.add(picker.random_unused(), "uninformative", "", d.genes);
    for (auto& g : d.genes) {
        // ~10% non-zeros at 4,000 counts per cell, as in droplet data
        if (g.role == "housekeeping") g.base = 3.0 + 0.5 * rng.normal();
        else if (g.role == "uninformative") g.base = -3.5 + 1.3 * rng.normal();
        else g.base = -3.0 + 0.5 * rng.normal(); // off until a program turns it on
    }

    draw_donors(d, rng, 0.0);
    return d;
}

SimulationDesign design_calibrated_simulation(const Ruler& ruler, const Calibration& cal,
                                              const std::vector<std::string>& vocabulary,
                                              const SimulationOptions& options) {
    check_options(options, ruler);
    SimulationDesign d = graph_design(ruler, options);
    const auto n_stages = static_cast<std::int64_t>(ruler.stages.size());
    Rng rng(options.design_seed.value_or(options.seed), kDesignStream);

    // Genes: the reference's genes the model's vocabulary can tokenise, in the reference's order.
    const std::unordered_set<std::string> in_vocab(vocabulary.begin(), vocabulary.end());
    std::unordered_set<std::string> markers;
    for (const auto& st : ruler.stages)
        for (const auto& m : stage_markers(st.name)) markers.insert(m);
    std::vector<std::size_t> kept;
    std::unordered_set<std::string> taken;
    for (std::size_t i = 0; i < cal.genes.size(); ++i) {
        const auto& g = cal.genes[i];
        if (!in_vocab.contains(g) || !taken.insert(g).second) continue;
        kept.push_back(i);
        d.genes.push_back({g, markers.contains(g) ? "marker" : "calibrated", "", 0.0});
        d.gene_theta.push_back(cal.theta[i]);
    }
    if (kept.size() < 10)
        throw Error(fmt::format("simulate: only {} of the calibration's {} genes are in the vocabulary", kept.size(),
                                cal.genes.size()));
    const auto n_genes = static_cast<std::int64_t>(kept.size());
    d.options.n_genes = n_genes;

    // Profiles of the stages the reference has; the others from their nearest profiled stages.
    d.stage_log_profile.assign(n_stages, {});
    for (const auto& st : cal.stages) {
        const auto s = ruler.stage_index(st.stage);
        if (s < 0) continue;
        auto& p = d.stage_log_profile[s];
        for (const auto i : kept) p.push_back(st.log_profile[i]);
    }
    std::vector<std::int64_t> profiled;
    for (std::int64_t s = 0; s < n_stages; ++s)
        if (!d.stage_log_profile[s].empty()) profiled.push_back(s);
    if (profiled.empty())
        throw Error(fmt::format("{}: no stage of the calibration ('{}'...) is on this ruler", ruler_source(d.options, ruler),
                                cal.stages.empty() ? "" : cal.stages.front().stage));
    const auto hops = ruler_distances(ruler);
    std::unordered_map<std::string, std::int64_t> gene_index;
    for (std::int64_t g = 0; g < n_genes; ++g) gene_index.emplace(d.genes[g].symbol, g);
    const auto effect = [&] {
        return options.program_effect_min + (options.program_effect_max - options.program_effect_min) * rng.uniform();
    };
    d.stage_effects.resize(n_stages);
    for (std::int64_t s = 0; s < n_stages; ++s) {
        if (!d.stage_log_profile[s].empty()) continue;
        double nearest = std::numeric_limits<double>::infinity();
        for (const auto p : profiled) nearest = std::min(nearest, hops(s, p));
        std::vector<double> profile(static_cast<std::size_t>(n_genes), 0.0);
        double count = 0;
        for (const auto p : profiled) {
            if (hops(s, p) != nearest) continue;
            for (std::int64_t g = 0; g < n_genes; ++g) profile[g] += d.stage_log_profile[p][g];
            count += 1;
        }
        for (auto& v : profile) v /= count;
        std::vector<std::int64_t> members;
        for (const auto& m : stage_markers(ruler.stages[s].name)) {
            const auto it = gene_index.find(m);
            if (it == gene_index.end() || static_cast<std::int64_t>(members.size()) >= options.stage_program_size) continue;
            members.push_back(it->second);
            d.stage_effects[s].emplace_back(it->second, effect());
        }
        d.programs.emplace_back("stage:" + ruler.stages[s].name, members);
        d.interpolated_stages.push_back(ruler.stages[s].name);
        d.stage_log_profile[s] = std::move(profile);
    }
    // Programs are added after all interpolations so that no interpolated stage inherits another's markers.
    for (std::int64_t s = 0; s < n_stages; ++s)
        for (const auto& [g, e] : d.stage_effects[s]) {
            d.stage_log_profile[s][g] += e;
            if (d.genes[g].program.empty()) d.genes[g].program = "stage:" + ruler.stages[s].name;
        }
    for (std::int64_t g = 0; g < n_genes; ++g) {
        double mean = 0;
        for (std::int64_t s = 0; s < n_stages; ++s) mean += d.stage_log_profile[s][g] / static_cast<double>(n_stages);
        d.genes[g].base = mean;
    }
    if (options.composition == SimulationComposition::reference) {
        d.reference_stage_weight.assign(n_stages, 0.0);
        for (const auto& st : cal.stages) {
            const auto s = ruler.stage_index(st.stage);
            if (s >= 0) d.reference_stage_weight[s] = static_cast<double>(st.n_cells);
        }
    }
    if (!(options.within_type_scale >= 0))
        throw Error(fmt::format("simulate: --within-type-scale must be >= 0, got {}", options.within_type_scale));
    if (options.within_type_scale > 0)
        for (std::size_t k = 0; k < cal.within_type_sd.size(); ++k) {
            d.within_type_sd.push_back(options.within_type_scale * cal.within_type_sd[k]);
            auto& v = d.within_type_loadings.emplace_back();
            for (const auto i : kept) v.push_back(cal.within_type_loadings[k][i]);
        }
    d.log_library_quantiles = cal.log_library_quantiles;
    d.calibration_source = cal.source;
    d.calibration_sha256 = cal.source_sha256;

    // Donor spreads from the reference where it had donors, else the options' values.
    if (cal.donor_effects_estimated) {
        d.options.donor_gene_sd = cal.donor_gene_sd;
        d.options.donor_composition_sd = cal.donor_composition_sd;
    }
    draw_donors(d, rng, cal.donor_effects_estimated ? cal.donor_library_sdlog : 0.0);
    return d;
}

SimulatedCell place_cell(const SimulationDesign& d, std::int64_t index) {
    Rng rng(d.options.seed, static_cast<std::uint64_t>(index));
    SimulatedCell c;
    c.donor = categorical(rng, d.donor_weight);
    c.tissue = static_cast<std::int64_t>(rng.below(d.options.tissues.size()));
    c.child = categorical(rng, d.composition[c.donor * static_cast<std::int64_t>(d.options.tissues.size()) + c.tissue]);
    c.parent = d.parent[c.child] >= 0 ? d.parent[c.child] : c.child; // the root, at reference composition
    c.t = d.reference_stage_weight.empty() ? rng.uniform() : 1.0;
    c.stage = c.t < 0.5 ? c.parent : c.child;
    c.progress = c.parent == c.child ? static_cast<double>(d.ruler.stages[c.child].depth)
                                     : static_cast<double>(d.ruler.stages[c.parent].depth) + c.t;
    if (d.calibrated()) {
        const double shift = d.donor_log_library.empty() ? 0.0 : d.donor_log_library[c.donor];
        c.library_size = std::exp(interpolate_quantiles(d.log_library_quantiles, rng.uniform()) + shift);
    } else {
        c.library_size = d.options.library_size_mean * std::exp(d.options.library_size_sdlog * rng.normal());
    }
    return c;
}

namespace {

/// One cell's counts (non-zeros in gene order) from its own stream.
void draw_cell(const SimulationDesign& d, std::int64_t index, SimulatedCell& cell, std::vector<double>& logit,
               std::vector<std::pair<std::int32_t, float>>& out) {
    cell = place_cell(d, index);
    // a second stream for the expression, so placement and counts are independent draws
    Rng rng(d.options.seed ^ 0xA5A5A5A5A5A5A5A5ULL, static_cast<std::uint64_t>(index));
    const auto n_genes = static_cast<std::int64_t>(d.genes.size());
    const auto& donor_effect = d.donor_gene_effect[cell.donor];
    for (std::int64_t g = 0; g < n_genes; ++g) logit[g] = (d.calibrated() ? 0.0 : d.genes[g].base) + donor_effect[g];
    const auto apply = [&](const std::vector<std::pair<std::int64_t, double>>& effects, double a) {
        if (a <= 0.0) return;
        for (const auto& [g, e] : effects) logit[g] += a * e;
    };
    const auto add_profile = [&](std::int64_t s, double a) {
        for (std::int64_t g = 0; g < n_genes; ++g) logit[g] += a * d.stage_log_profile[s][g];
    };
    if (d.options.null_model) {
        // expression of an independently drawn stage, no progress, no branch programs
        std::vector<double> uniform(d.ruler.stages.size(), 0.0);
        for (std::size_t s = 0; s < uniform.size(); ++s)
            if (d.parent[s] >= 0) uniform[s] = 1.0 / static_cast<double>(uniform.size() - 1);
        const auto s = categorical(rng, uniform);
        if (d.calibrated()) add_profile(s, 1.0);
        else apply(d.stage_effects[s], 1.0);
    } else if (d.calibrated()) {
        // the reference's profiles, interpolated along the edge
        add_profile(cell.parent, 1.0 - cell.t);
        add_profile(cell.child, cell.t);
        for (std::size_t k = 0; k < d.within_type_sd.size(); ++k) {
            const double z = d.within_type_sd[k] * rng.normal();
            const auto& v = d.within_type_loadings[k];
            for (std::int64_t g = 0; g < n_genes; ++g) logit[g] += z * v[g];
        }
    } else {
        apply(d.stage_effects[cell.parent], 1.0 - cell.t);
        apply(d.stage_effects[cell.child], cell.t);
        const auto b = d.branch_of_stage[cell.child];
        apply(d.branch_effects[b], std::min(1.0, cell.progress / static_cast<double>(d.branch_max_depth[b])));
    }
    const double mx = *std::max_element(logit.begin(), logit.end());
    double sum = 0;
    for (auto& x : logit) sum += (x = std::exp(x - mx));
    const double scale = cell.library_size / sum;
    out.clear();
    for (std::int64_t g = 0; g < n_genes; ++g) {
        const double theta = d.gene_theta.empty() ? d.options.nb_theta : d.gene_theta[g];
        const auto k = rng.negative_binomial(logit[g] * scale, theta);
        if (k > 0) out.emplace_back(static_cast<std::int32_t>(g), static_cast<float>(k));
    }
}

} // namespace

CsrMatrix simulate_counts(const SimulationDesign& d, std::int64_t begin, std::int64_t end, int threads,
                          std::vector<SimulatedCell>* cells) {
    if (begin < 0 || end < begin || end > d.options.n_cells)
        throw Error(fmt::format("simulate: cells [{}, {}) outside [0, {})", begin, end, d.options.n_cells));
    const std::int64_t n = end - begin;
    const auto n_genes = static_cast<std::int64_t>(d.genes.size());
    constexpr std::int64_t kChunk = 64;
    std::vector<std::vector<std::pair<std::int32_t, float>>> rows(static_cast<std::size_t>(n));
    std::vector<SimulatedCell> placed(static_cast<std::size_t>(n));
    parallel_for(n, kChunk, threads, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        std::vector<double> logit(static_cast<std::size_t>(n_genes));
        for (std::int64_t i = b; i < e; ++i) draw_cell(d, d.options.cell_offset + begin + i, placed[i], logit, rows[i]);
    });
    CsrMatrix m;
    m.n_rows = n;
    m.n_cols = n_genes;
    m.indptr.assign(static_cast<std::size_t>(n) + 1, 0);
    std::int64_t nnz = 0;
    for (std::int64_t i = 0; i < n; ++i) m.indptr[i + 1] = (nnz += static_cast<std::int64_t>(rows[i].size()));
    m.values.reserve(nnz);
    m.indices.reserve(nnz);
    for (auto& r : rows) {
        for (const auto& [g, v] : r) {
            m.indices.push_back(g);
            m.values.push_back(v);
        }
        std::vector<std::pair<std::int32_t, float>>().swap(r);
    }
    if (cells) *cells = std::move(placed);
    return m;
}

} // namespace scx
