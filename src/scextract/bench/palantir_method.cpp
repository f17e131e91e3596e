#include "scextract/bench/palantir_method.hpp"

#include "scextract/bench/per_donor_pseudotime.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

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
