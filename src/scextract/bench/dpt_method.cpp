#include "scextract/bench/dpt_method.hpp"

#include "scextract/bench/per_donor_pseudotime.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

DptMethod::DptMethod(DptMethodOptions options) : options_(std::move(options)) {}

MethodInfo DptMethod::info() const {
    const auto& o = options_.dpt;
    return {options_.name.empty() ? std::string("dpt") : options_.name,
            fmt::format("scanpy DPT per held-out donor: pp.pca {}, pp.neighbors {} ({}), tl.diffmap {}, tl.dpt n_dcs {}; "
                        "root: medoid of the donor's earliest-stage cells",
                        o.n_pcs, o.knn.n_neighbors, o.kernel == ConnectivityKernel::umap ? "umap" : "gauss",
                        o.diffmap.n_components, o.dpt.n_dcs),
            PseudotimeClass::unsupervised, 0};
}

MethodPrediction DptMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                      std::span<const std::int64_t> test, int threads) {
    (void)train;
    MethodPrediction p;
    const auto min_cells = std::max(options_.min_cells, options_.dpt.knn.n_neighbors + 1);
    p.pseudotime = per_donor_pseudotime(cells, test, min_cells, [&](std::span<const std::int64_t>, const RowMatrixF& x, std::int64_t root, int t) {
        auto o = options_.dpt;
        o.threads = t;
        return scanpy_dpt(x, root, o).pseudotime;
    }, threads);
    return p;
}

} // namespace scx
