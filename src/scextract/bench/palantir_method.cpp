#include "scextract/bench/palantir_method.hpp"

#include "scextract/bench/per_donor_pseudotime.hpp"
#include "scextract/io/json_object_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

PalantirMethodOptions palantir_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    PalantirMethodOptions o;
    auto& pl = o.palantir;
    pl.n_pcs = r.integer("n_pcs", pl.n_pcs, 10000);
    pl.kernel_knn = r.integer("knn", pl.kernel_knn, 10000);
    pl.pseudotime.knn = pl.kernel_knn;
    pl.n_components = r.integer("n_components", pl.n_components, 10000);
    pl.num_waypoints = r.integer("num_waypoints", pl.num_waypoints, 1000000);
    pl.pseudotime.max_iterations = r.integer("max_iterations", pl.pseudotime.max_iterations, 1000000);
    pl.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(pl.seed)));
    o.min_cells = r.integer("min_cells", o.min_cells, 10000000);
    if (pl.n_pcs < 2 || pl.kernel_knn < 4 || pl.n_components < 3 || pl.num_waypoints < 3 || pl.pseudotime.max_iterations < 1)
        r.fail("'n_pcs' must be at least 2, 'knn' 4, 'n_components' and 'num_waypoints' 3, 'max_iterations' 1");
    r.finish();
    return o;
}

PalantirMethod::PalantirMethod(PalantirMethodOptions options) : options_(std::move(options)) {}

MethodInfo PalantirMethod::info() const {
    const auto& o = options_.palantir;
    return {options_.name.empty() ? std::string("palantir") : options_.name,
            fmt::format("Palantir per held-out donor: sc.pp.pca {}, kernel knn {}, {} diffusion components, multiscale "
                        "(eigen gap), {} waypoints, knn {}; early cell: medoid of the donor's earliest-stage cells",
                        o.n_pcs, o.kernel_knn, o.n_components, o.num_waypoints, o.pseudotime.knn),
            PseudotimeClass::unsupervised, 0};
}

MethodPrediction PalantirMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                           std::span<const std::int64_t> test, int threads) {
    (void)train;
    MethodPrediction p;
    const auto min_cells = std::max({options_.min_cells, options_.palantir.kernel_knn + 1, options_.palantir.pseudotime.knn + 1});
    p.pseudotime = per_donor_pseudotime(cells, test, min_cells, [&](std::span<const std::int64_t>, const RowMatrixF& x, std::int64_t root, int t) {
        auto o = options_.palantir;
        o.threads = t;
        return run_palantir(x, root, o).pseudotime.pseudotime;
    }, threads);
    return p;
}

} // namespace scx
