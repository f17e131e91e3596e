#include "scextract/bench/dpt_method.hpp"

#include "scextract/bench/per_donor_pseudotime.hpp"
#include "scextract/io/json_object_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

DptMethodOptions dpt_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    DptMethodOptions o;
    auto& d = o.dpt;
    d.n_pcs = r.integer("n_pcs", d.n_pcs, 10000);
    d.knn.n_neighbors = r.integer("n_neighbors", d.knn.n_neighbors, 10000);
    d.diffmap.n_components = r.integer("n_comps", d.diffmap.n_components, 10000);
    d.dpt.n_dcs = r.integer("n_dcs", d.dpt.n_dcs, 10000);
    o.min_cells = r.integer("min_cells", o.min_cells, 10000000);
    const auto kernel = r.string("method", "umap");
    if (kernel != "umap" && kernel != "gauss") r.fail("'method' must be umap or gauss");
    d.kernel = kernel == "umap" ? ConnectivityKernel::umap : ConnectivityKernel::gauss;
    if (d.n_pcs < 2 || d.knn.n_neighbors < 2 || d.diffmap.n_components < 3 || d.dpt.n_dcs < 1)
        r.fail("'n_pcs' and 'n_neighbors' must be at least 2, 'n_comps' at least 3, 'n_dcs' at least 1");
    r.finish();
    return o;
}

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
