/// @file pseudotime.cpp
/// @brief `pseudotime`: the benchmark's native DPT and Palantir on one file, written into an
/// annotated copy of it (every front-end comes here).

#include "scextract/pseudotime.hpp"

#include "scextract/api/input_cells.hpp"
#include "scextract/baselines/diffusion_pseudotime.hpp"
#include "scextract/baselines/palantir.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/io/atomic_file.hpp"
#include "scextract/io/dataset.hpp"
#include "scextract/io/h5ad_reader.hpp"
#include "scextract/io/h5ad_writer.hpp"
#include "scextract/preprocess/count_check.hpp"
#include "scextract/preprocess/hvg.hpp"
#include "scextract/preprocess/normalize.hpp"
#include "scextract/version.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

namespace scx {

namespace {

/// The cells x dimensions matrix the method's neighbours are found in, before the method's
/// own PCA (which a matrix of at most n_pcs columns skips, scanpy's rule).
struct Representation {
    RowMatrixF x;
    bool precomputed = false; ///< obsm[use_rep]: used as it is, every column
    std::string description;
};

RowMatrixF dense_of(const CsrMatrix& m) {
    RowMatrixF x = RowMatrixF::Zero(m.n_rows, m.n_cols);
    for (std::int64_t r = 0; r < m.n_rows; ++r) {
        const auto v = m.row_values(r);
        const auto j = m.row_indices(r);
        for (std::size_t k = 0; k < v.size(); ++k) x(r, j[k]) = v[k];
    }
    return x;
}

/// obsm[key] of an .h5ad input as a dense float matrix, one row per cell.
Representation obsm_representation(const PseudotimeFileOptions& o, std::int64_t n_cells) {
    if (detect_input_format(o.input) != InputFormat::h5ad)
        throw UsageError(fmt::format("{}: --use-rep needs an .h5ad input (obsm['{}'])", o.input, o.use_rep));
    const auto ad = read_h5ad(o.input, {.read_X = false, .read_layers = false, .read_raw_X = false, .read_obsp = false});
    const auto* e = ad.obsm.find(o.use_rep);
    if (e == nullptr) {
        std::vector<std::string> keys;
        for (const auto& [k, _] : ad.obsm.items) keys.push_back(k);
        throw Error(fmt::format("{}: obsm has no '{}' (--use-rep); obsm keys: {}", o.input, o.use_rep,
                                     keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "))));
    }
    const auto* a = std::get_if<NdArray>(&e->value);
    if (a == nullptr || a->shape.size() != 2 || a->shape[0] != n_cells || a->shape[1] < 1)
        throw Error(fmt::format("{}: obsm['{}'] is not a numeric matrix of {} rows (--use-rep)", o.input, o.use_rep, n_cells));
    Representation r;
    r.x.resize(a->shape[0], a->shape[1]);
    for (std::int64_t i = 0; i < a->size(); ++i) {
        const double v = a->at(i);
        if (!std::isfinite(v)) throw Error(fmt::format("{}: obsm['{}'] holds NaN or infinite values", o.input, o.use_rep));
        r.x.data()[i] = static_cast<float>(v);
    }
    r.precomputed = true;
    r.description = fmt::format("obsm['{}'] ({} columns)", o.use_rep, r.x.cols());
    return r;
}

/// The anchors' preprocessing: log1p(normalize_total 1e4) of counts (log-normalised values as
/// they are), then the seurat-flavour HVGs.
Representation expression_representation(const PseudotimeFileOptions& o, const Dataset& d) {
    const std::string what = fmt::format("{} {}", o.input, d.matrix_source);
    const auto report = inspect_values(d.matrix, {.threads = o.threads});
    bool counts = report.is_counts();
    const std::string hint = "pass --input-kind, --layer or --raw for another matrix, or --use-rep for an embedding in obsm";
    if (o.input_kind == "counts") require_counts(report, what, counts_hint(d, o.layer, o.raw));
    else if (o.input_kind == "lognorm") {
        require_log_normalized(report, what, hint);
        counts = false;
    } else if (!counts && !report.looks_log_normalized())
        throw Error(fmt::format("{} holds {}, neither raw counts nor log-normalised values; {}", what, report.describe(), hint));
    CsrMatrix lognorm = counts ? normalize_total(d.matrix, {.target_sum = 1e4, .threads = o.threads}) : d.matrix;
    if (counts) log1p_in_place(lognorm, o.threads);
    Representation r;
    std::string genes = "all genes";
    if (o.n_top_genes > 0 && o.n_top_genes < lognorm.n_cols) {
        HvgOptions h;
        h.flavor = HvgFlavor::seurat;
        h.n_top_genes = o.n_top_genes;
        h.threads = o.threads;
        auto selected = highly_variable_genes(lognorm, h).selected;
        std::sort(selected.begin(), selected.end()); // scanpy subsets in the genes' order
        lognorm = select_columns(lognorm, selected);
        genes = fmt::format("{} HVGs (seurat)", selected.size());
    }
    r.x = dense_of(lognorm);
    r.description = fmt::format("PCA {} of {} of {}", std::min<std::int64_t>({o.n_pcs, r.x.rows() - 1, r.x.cols() - 1}), genes,
                                counts ? fmt::format("log1p(normalize_total 1e4 of {})", d.matrix_source) : d.matrix_source);
    return r;
}

/// The medoid of @p rows in @p x: the smallest summed euclidean distance to the others, the
/// first on ties (sums in double, each cell's sum on its own, so any thread count agrees).
std::int64_t medoid(const RowMatrixF& x, const std::vector<std::int64_t>& rows, int threads) {
    const auto m = static_cast<std::int64_t>(rows.size());
    std::vector<double> sums(rows.size());
    parallel_for(m, 64, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        for (std::int64_t a = begin; a < end; ++a) {
            double s = 0.0;
            for (const auto b : rows)
                s += std::sqrt((x.row(rows[static_cast<std::size_t>(a)]) - x.row(b)).cast<double>().squaredNorm());
            sums[static_cast<std::size_t>(a)] = s;
        }
    });
    return rows[static_cast<std::size_t>(std::min_element(sums.begin(), sums.end()) - sums.begin())];
}

std::int64_t root_of(const PseudotimeFileOptions& o, const Dataset& d, const RowMatrixF& space) {
    if (!o.root.empty()) {
        const auto it = std::find(d.obs_names.begin(), d.obs_names.end(), o.root);
        if (it == d.obs_names.end())
            throw Error(fmt::format("{}: no cell named '{}' in obs_names (--root)", o.input, o.root));
        return it - d.obs_names.begin();
    }
    const auto labels = obs_strings(d, o.label_key, o.input, "--label-key");
    std::vector<std::int64_t> rows;
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] == o.root_label) rows.push_back(static_cast<std::int64_t>(i));
    if (rows.empty()) {
        std::vector<std::string> seen;
        for (const auto& l : labels)
            if (!l.empty() && std::find(seen.begin(), seen.end(), l) == seen.end()) seen.push_back(l);
        throw Error(fmt::format("{}: no cell has obs['{}'] == '{}' (--root-label); labels: {}", o.input, o.label_key,
                                     o.root_label, fmt::join(seen, ", ")));
    }
    return medoid(space, rows, o.threads);
}

Column doubles(const Eigen::VectorXd& v) { return NdArray::from(std::vector<double>(v.data(), v.data() + v.size()), {v.size()}); }

Element text(const std::string& s) { return Element{StringArray{{}, {s}}}; }

void check_options(const PseudotimeFileOptions& o) {
    if (o.method != "dpt" && o.method != "palantir")
        throw UsageError(fmt::format("--method must be dpt or palantir, not '{}'", o.method));
    if (o.root.empty() == o.root_label.empty()) throw UsageError("give the root as --root CELL_ID or --root-label LABEL");
    if (!o.root_label.empty() && o.label_key.empty()) throw UsageError("--root-label needs --label-key (the obs column)");
    parse_input_kind(o.input_kind); // the names every command takes
    if (o.n_pcs < 2 || o.n_top_genes < 0) throw UsageError("--n-pcs must be at least 2 and --n-top-genes at least 0");
    if (o.n_neighbors < 2 || o.n_comps < 3 || o.n_dcs < 1)
        throw UsageError("--n-neighbors must be at least 2, --n-comps at least 3 and --n-dcs at least 1");
    if (o.knn < 4 || o.n_components < 3 || o.num_waypoints < 3)
        throw UsageError("--knn must be at least 4, --n-components and --num-waypoints at least 3");
}

} // namespace

PseudotimeFileResult pseudotime_file(const PseudotimeFileOptions& o, const MessageSink& messages) {
    check_options(o);
    refuse_overwriting_input(o.input, o.out);
    const auto t0 = std::chrono::steady_clock::now();
    auto d = read_dataset(o.input, {.layer = o.layer, .use_raw = o.raw});
    const auto n = d.matrix.n_rows;
    const bool dpt = o.method == "dpt";
    const auto need = dpt ? o.n_neighbors + 1 : o.knn + 1;
    if (n < std::max<std::int64_t>(need, 4))
        throw Error(fmt::format("{}: {} cells; {} needs at least {} (its neighbours + 1)", o.input, n, o.method,
                                std::max<std::int64_t>(need, 4)));
    auto rep = o.use_rep.empty() ? expression_representation(o, d) : obsm_representation(o, n);
    // PCA once, here: the methods take a matrix of at most n_pcs columns as it is (scanpy's
    // rule), and the root's medoid is taken in the same space the neighbours are found in
    if (!rep.precomputed) rep.x = scanpy_pca_representation(rep.x, o.n_pcs, o.threads);
    const auto n_pcs = rep.x.cols();
    const auto root = root_of(o, d, rep.x);

    PseudotimeFileResult r;
    r.cells = n;
    r.representation = rep.description;
    r.root_index = root;
    r.root = d.obs_names.at(static_cast<std::size_t>(root));
    H5adAdditions add;
    Mapping prov;
    prov.set("method", text(o.method));
    prov.set("representation", text(rep.description));
    prov.set("root", text(r.root));
    prov.set("root_rule", text(o.root.empty() ? fmt::format("medoid of obs['{}'] == '{}'", o.label_key, o.root_label)
                                              : std::string("given cell")));
    prov.set("scextract_version", text(version()));
    if (dpt) {
        ScanpyDptOptions p;
        p.n_pcs = n_pcs;
        p.knn.n_neighbors = o.n_neighbors;
        p.knn.threads = o.threads;
        p.diffmap.n_components = o.n_comps;
        p.dpt.n_dcs = o.n_dcs;
        p.threads = o.threads;
        const auto res = scanpy_dpt(rep.x, root, p);
        for (Eigen::Index i = 0; i < res.pseudotime.size(); ++i) r.unreachable += std::isfinite(res.pseudotime(i)) ? 0 : 1;
        if (r.unreachable > 0)
            messages.warning(fmt::format("{} of {} cells are outside the root's neighbour-graph component: dpt_pseudotime inf",
                                         r.unreachable, n));
        add.obs_columns.emplace_back("dpt_pseudotime", doubles(res.pseudotime));
        add.uns.set("iroot", Element{NdArray::scalar<std::int64_t>(root)});
        prov.set("settings", text(fmt::format("n_neighbors {}, n_comps {}, n_dcs {}, umap connectivities, {} kNN", o.n_neighbors,
                                              o.n_comps, o.n_dcs, res.knn.approximate ? "approximate (hnsw)" : "exact")));
    } else {
        PalantirOptions p;
        p.n_pcs = n_pcs;
        p.kernel_knn = o.knn;
        p.pseudotime.knn = o.knn;
        p.n_components = o.n_components;
        p.num_waypoints = o.num_waypoints;
        p.seed = o.seed;
        p.fates = true;
        p.threads = o.threads;
        const auto res = run_palantir(rep.x, root, p);
        r.start_cell = d.obs_names.at(static_cast<std::size_t>(res.start_cell));
        // palantir orders the fate columns by terminal cell name (np.unique)
        const auto& ts = res.fates.terminal_states;
        std::vector<std::size_t> order(ts.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return d.obs_names[static_cast<std::size_t>(ts[a])] < d.obs_names[static_cast<std::size_t>(ts[b])];
        });
        const auto k = static_cast<std::int64_t>(ts.size());
        std::vector<double> fates(static_cast<std::size_t>(n * k));
        for (std::int64_t c = 0; c < k; ++c) {
            r.terminal_states.push_back(d.obs_names[static_cast<std::size_t>(ts[order[static_cast<std::size_t>(c)]])]);
            for (std::int64_t i = 0; i < n; ++i)
                fates[static_cast<std::size_t>(i * k + c)] =
                    res.fates.probabilities(i, static_cast<Eigen::Index>(order[static_cast<std::size_t>(c)]));
        }
        if (k == 0) messages.warning("Palantir found no terminal state: palantir_fate_probabilities has no columns");
        add.obs_columns.emplace_back("palantir_pseudotime", doubles(res.pseudotime.pseudotime));
        add.obs_columns.emplace_back("palantir_entropy", doubles(res.fates.entropy));
        add.obsm.set("palantir_fate_probabilities", Element{NdArray::from(fates, {n, k})});
        add.uns.set("palantir_fate_probabilities_columns", Element{StringArray{{k}, r.terminal_states}});
        std::vector<std::string> waypoints;
        for (const auto w : res.waypoints) waypoints.push_back(d.obs_names[static_cast<std::size_t>(w)]);
        add.uns.set("palantir_waypoints", Element{StringArray{{static_cast<std::int64_t>(waypoints.size())}, waypoints}});
        prov.set("start_cell", text(r.start_cell));
        prov.set("settings", text(fmt::format("knn {}, n_components {}, num_waypoints {} ({} used), seed {}", o.knn,
                                              o.n_components, o.num_waypoints, res.waypoints.size(), o.seed)));
    }
    add.uns.set("scx_pseudotime", Element{std::move(prov)});
    write_dataset_with_additions(o.input, std::move(d), o.out, add);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

} // namespace scx
