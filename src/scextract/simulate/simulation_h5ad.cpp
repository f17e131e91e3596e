#include "scextract/simulate/simulation_h5ad.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/h5ad_stream_writer.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace scx {

namespace {

/// A categorical column: codes into @p categories.
Column categorical(const std::vector<std::int64_t>& codes, const std::vector<std::string>& categories) {
    Categorical c;
    std::vector<std::int32_t> narrow(codes.begin(), codes.end());
    c.codes = NdArray::from(narrow, {static_cast<std::int64_t>(narrow.size())});
    c.categories = StringArray{{static_cast<std::int64_t>(categories.size())}, categories};
    return c;
}

/// The distinct values of @p labels in first-seen order and each entry's code.
std::pair<std::vector<std::int64_t>, std::vector<std::string>> encode(const std::vector<std::string>& labels) {
    std::vector<std::string> cats;
    std::vector<std::int64_t> codes;
    for (const auto& l : labels) {
        auto it = std::find(cats.begin(), cats.end(), l);
        if (it == cats.end()) it = cats.insert(cats.end(), l);
        codes.push_back(it - cats.begin());
    }
    return {codes, cats};
}

template <class T> Column numeric(const std::vector<T>& v) { return NdArray::from(v, {static_cast<std::int64_t>(v.size())}); }

Element text(const std::string& s) { return Element{StringArray{{}, {s}}}; }

DataFrame make_obs(const SimulationDesign& d, const std::vector<SimulatedCell>& cells) {
    const auto& ruler = d.ruler;
    const auto n = static_cast<std::int64_t>(cells.size());
    DataFrame obs;
    obs.index.reserve(cells.size());
    const auto first = d.options.cell_offset;
    const int width = static_cast<int>(std::to_string(first + n).size());
    for (std::int64_t i = 0; i < n; ++i) obs.index.push_back(fmt::format("cell_{:0{}d}", first + i, width));

    std::vector<std::string> stage_names, branch_names;
    for (const auto& s : ruler.stages) stage_names.push_back(s.name);
    std::vector<std::int64_t> stage(n), branch(n), donor(n), tissue(n), depth(n), parent(n), child(n);
    std::vector<double> progress(n), library(n);
    for (std::int64_t i = 0; i < n; ++i) {
        const auto& c = cells[i];
        stage[i] = c.stage;
        branch[i] = d.branch_of_stage[c.stage];
        donor[i] = c.donor;
        tissue[i] = c.tissue;
        depth[i] = ruler.stages[c.stage].depth;
        parent[i] = c.parent;
        child[i] = c.child;
        progress[i] = c.progress;
        library[i] = c.library_size;
    }
    // cell_type: the label for the stage; categories are the distinct labels in stage order
    const auto [label_codes, label_cats] = encode(d.stage_labels);
    std::vector<std::int64_t> cell_type(n);
    for (std::int64_t i = 0; i < n; ++i) cell_type[i] = label_codes[stage[i]];
    obs.set("cell_type", categorical(cell_type, label_cats));
    obs.set("stage", categorical(stage, stage_names));
    obs.set("branch", categorical(branch, ruler.branches));
    obs.set("depth", numeric(depth));
    obs.set("donor", categorical(donor, d.donors));
    obs.set("tissue", categorical(tissue, d.options.tissues));
    obs.set("progress", numeric(progress));
    obs.set("edge_parent", categorical(parent, stage_names));
    obs.set("edge_child", categorical(child, stage_names));
    obs.set("library_size", numeric(library));
    return obs;
}

DataFrame make_var(const SimulationDesign& d) {
    DataFrame var;
    std::vector<std::string> roles, programs;
    for (const auto& g : d.genes) {
        var.index.push_back(g.symbol);
        roles.push_back(g.role);
        programs.push_back(g.program);
    }
    const auto [role_codes, role_cats] = encode(roles);
    var.set("gene_role", categorical(role_codes, role_cats));
    var.set("program", StringArray{{static_cast<std::int64_t>(programs.size())}, programs});
    return var;
}

Mapping make_uns(const SimulationDesign& d) {
    const auto& o = d.options;
    Mapping sim;
    sim.set("generator", text("scextract simulate"));
    sim.set("version", Element{NdArray::scalar<std::int64_t>(1)});
    sim.set("seed", Element{NdArray::scalar<std::int64_t>(static_cast<std::int64_t>(o.seed))});
    sim.set("design_seed",
            Element{NdArray::scalar<std::int64_t>(static_cast<std::int64_t>(o.design_seed.value_or(o.seed)))});
    sim.set("cell_offset", Element{NdArray::scalar<std::int64_t>(o.cell_offset)});
    sim.set("null_model", Element{NdArray::scalar<bool>(o.null_model)});
    sim.set("ruler", text(d.ruler.name));
    sim.set("n_donors", Element{NdArray::scalar<std::int64_t>(o.n_donors)});
    sim.set("library_size_mean", Element{NdArray::scalar<double>(o.library_size_mean)});
    sim.set("library_size_sdlog", Element{NdArray::scalar<double>(o.library_size_sdlog)});
    sim.set("nb_theta", Element{NdArray::scalar<double>(o.nb_theta)});
    sim.set("donor_gene_sd", Element{NdArray::scalar<double>(o.donor_gene_sd)});
    sim.set("donor_composition_sd", Element{NdArray::scalar<double>(o.donor_composition_sd)});
    sim.set("program_effect_min", Element{NdArray::scalar<double>(o.program_effect_min)});
    sim.set("program_effect_max", Element{NdArray::scalar<double>(o.program_effect_max)});
    Mapping programs;
    for (const auto& [name, members] : d.programs) {
        StringArray genes{{static_cast<std::int64_t>(members.size())}, {}};
        for (const auto g : members) genes.values.push_back(d.genes[g].symbol);
        programs.set(name, Element{genes});
    }
    sim.set("programs", Element{programs});
    if (d.calibrated()) {
        Mapping cal;
        cal.set("source", text(d.calibration_source));
        cal.set("source_sha256", text(d.calibration_sha256));
        cal.set("interpolated_stages", Element{StringArray{{static_cast<std::int64_t>(d.interpolated_stages.size())},
                                                           d.interpolated_stages}});
        cal.set("composition", text(o.composition == SimulationComposition::reference ? "reference" : "graph"));
        cal.set("within_type_scale", Element{NdArray::scalar<double>(o.within_type_scale)});
        cal.set("within_type_components", Element{NdArray::scalar<std::int64_t>(
                                              static_cast<std::int64_t>(d.within_type_sd.size()))});
        sim.set("calibration", Element{cal});
    }
    Mapping uns;
    uns.set("scx_sim", Element{sim});
    return uns;
}

} // namespace

SimulationWriteResult write_simulation_h5ad(const SimulationDesign& design, const std::string& path,
                                            const SimulationWriteOptions& options) {
    if (options.block_size < 1) throw Error(fmt::format("simulate: block size must be >= 1, got {}", options.block_size));
    const auto n = design.options.n_cells;
    const auto n_genes = static_cast<std::int64_t>(design.genes.size());
    H5adWriteOptions wo;
    wo.gzip_level = options.gzip_level;
    H5adCsrStreamWriter writer(path, n_genes, wo);
    std::vector<SimulatedCell> all;
    all.reserve(static_cast<std::size_t>(n));
    SimulationWriteResult r;
    for (std::int64_t begin = 0; begin < n; begin += options.block_size) {
        const auto end = std::min(n, begin + options.block_size);
        std::vector<SimulatedCell> cells;
        const auto block = simulate_counts(design, begin, end, options.threads, &cells);
        writer.append(block);
        r.nnz += block.nnz();
        all.insert(all.end(), cells.begin(), cells.end());
        if (options.progress) options.progress(end, n);
    }
    AnnData rest;
    rest.n_obs = n;
    rest.n_vars = n_genes;
    rest.obs = make_obs(design, all);
    rest.var = make_var(design);
    rest.uns = make_uns(design);
    writer.finish(rest);
    r.n_cells = n;
    r.n_genes = n_genes;
    return r;
}

} // namespace scx
