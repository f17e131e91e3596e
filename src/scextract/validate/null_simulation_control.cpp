#include "scextract/validate/null_simulation_control.hpp"

#include "scextract/simulate/simulator.hpp"
#include "scextract/validate/manifold_inputs.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

NullSimulationControl null_simulation_control(const FeatureOperator& features, double target_sum, const ManifoldData& like,
                                              const std::vector<std::string>& symbols, const Ruler& ruler,
                                              const NullSimulationOptions& options) {
    SimulationOptions so;
    so.n_cells = std::min(options.max_cells, like.n_cells());
    so.n_donors = std::max<std::int64_t>(2, *std::max_element(like.donor.begin(), like.donor.end()) + 1);
    so.n_genes = std::min<std::int64_t>(options.max_genes, simulation_gene_pool_size(symbols));
    so.seed = options.seed;
    so.null_model = true;
    const auto design = design_simulation(ruler, symbols, so);
    std::vector<SimulatedCell> placed;
    const CsrMatrix counts = simulate_counts(design, 0, so.n_cells, options.threads, &placed);
    AlgorithmTrainingData nd;
    nd.counts = &counts;
    for (const auto& gene : design.genes) nd.symbols.push_back(gene.symbol);
    for (const auto& c : placed) {
        nd.labels.push_back(design.stage_labels[c.stage]);
        nd.donors.push_back(design.donors[c.donor]);
        nd.tissues.push_back(so.tissues[c.tissue]);
    }
    NullSimulationControl out;
    out.data = manifold_data(features, target_sum, nd, ruler, options.threads);
    out.description = fmt::format("simulate --null: {} cells, {} donors, {} genes drawn from the data's symbols, seed {}",
                                  so.n_cells, so.n_donors, so.n_genes, so.seed);
    return out;
}

} // namespace scx
