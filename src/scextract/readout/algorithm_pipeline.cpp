#include "scextract/readout/algorithm_pipeline.hpp"

#include "scextract/core/category_codes.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/core/quantile.hpp"
#include "scextract/readout/apply_plan.hpp"
#include "scextract/readout/readouts.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

namespace scx {

std::vector<BinaryTask> default_binary_tasks() {
    return {
        {"cd4_cd8", "CD4 T", "CD8 T", {"naive_CD4_T", "memory_CD4_T", "regulatory_T"}, {"naive_CD8_T", "memory_CD8_T"}},
        {"mono_macro", "monocyte", "macrophage", {"classical_monocyte", "nonclassical_monocyte"}, {"macrophage"}},
    };
}

namespace {

AlgorithmReadout as_readout(std::string task, const LinearRegressionReadout& r) {
    AlgorithmReadout a{std::move(task), "regression", RowMatrixF(1, r.w.size()), Eigen::VectorXf(1), {}};
    a.W.row(0) = r.w.transpose();
    a.b(0) = static_cast<float>(r.b);
    return a;
}

AlgorithmReadout as_readout(std::string task, const SoftmaxReadout& r) {
    return {std::move(task), "softmax", r.W, r.b, r.classes};
}

AlgorithmReadout as_readout(std::string task, const BinaryReadout& r) {
    AlgorithmReadout a{std::move(task), "binary", RowMatrixF(1, r.w.size()), Eigen::VectorXf(1),
                       {r.negative_class, r.positive_class}};
    a.W.row(0) = r.w.transpose();
    a.b(0) = static_cast<float>(r.b);
    return a;
}

/// W z + b for every row.
RowMatrixF linear(const AlgorithmReadout& r, const RowMatrixF& z) {
    RowMatrixF out = z * r.W.transpose();
    out.rowwise() += r.b.transpose();
    return out;
}

/// apply's out-of-distribution bounds from the training cells' reconstruction errors and
/// detected panel-gene fractions (core/algorithm.hpp says why these percentiles).
AlgorithmOodBounds training_ood_bounds(const Eigen::VectorXf& error, const std::vector<float>& detected) {
    AlgorithmOodBounds b;
    std::vector<double> e(error.data(), error.data() + error.size()), d(detected.begin(), detected.end());
    std::erase_if(e, [](double v) { return !std::isfinite(v); });
    if (e.empty() || d.empty()) return b;
    std::sort(e.begin(), e.end());
    std::sort(d.begin(), d.end());
    b.reconstruction_error_p99 = sorted_quantile(e, 0.99);
    b.detected_fraction_p1 = sorted_quantile(d, 0.01);
    double sum = 0;
    for (auto v : e) sum += v;
    b.reconstruction_error_mean = sum / static_cast<double>(e.size());
    b.training_cells = static_cast<std::int64_t>(d.size());
    return b;
}

double accuracy(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& truth) {
    std::int64_t right = 0, n = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] < 0) continue;
        right += predicted[i] == truth[i];
        ++n;
    }
    return n > 0 ? static_cast<double>(right) / static_cast<double>(n) : 0.0;
}

} // namespace

AlgorithmAdaptorFit fit_algorithm_adaptor(const RowMatrixF& features, const AdaptorRowLabels& rows,
                                          const Eigen::MatrixXd& stage_distance, const AlgorithmFitOptions& options) {
    const auto n = static_cast<std::size_t>(features.rows());
    if (rows.stage.size() != n || rows.donors.size() != n || rows.tissues.size() != n || rows.labels.size() != n)
        throw Error("fit: stages, donors, tissues and labels need one entry per feature row");
    AdaptorOptions ao = options.adaptor;
    ao.threads = options.threads;
    AlgorithmAdaptorFit out;
    if (ao.variant == AdaptorVariant::anchor) {
        // Anchors are donor x tissue x cell-type means: with one donor each cell type is a
        // single anchor, far too few rows for k x D parameters.
        const auto donor_codes = codes_in_order_seen(rows.donors);
        if (*std::max_element(donor_codes.begin(), donor_codes.end()) < 1)
            throw Error("fit: the anchor adaptor needs cells from at least two donors (anchors are donor x tissue x "
                        "cell-type means; with one donor each cell type is one anchor); use the cell variant");
        const auto anchors = make_anchors(features, rows.stage,
                                          {donor_codes, codes_in_order_seen(rows.tissues), codes_in_order_seen(rows.labels)},
                                          {.min_cells = options.min_anchor_cells, .threads = options.threads});
        if (anchors.rows.rows() < 2)
            throw Error(fmt::format("fit: only {} donor x tissue x cell-type groups have >= {} cells; the anchor "
                                    "adaptor needs at least 2 (use --variant cell)",
                                    anchors.rows.rows(), options.min_anchor_cells));
        out.rows = anchors.rows.rows();
        out.fit = fit_adaptor(anchors.rows, anchors.stage, stage_distance, ao);
    } else {
        const auto balanced = balance_stages(rows.stage, options.max_cells_per_stage, ao.seed);
        std::vector<std::int64_t> rs;
        for (auto r : balanced) rs.push_back(rows.stage[r]);
        out.rows = static_cast<std::int64_t>(balanced.size());
        out.fit = fit_adaptor(take_rows(features, balanced), rs, stage_distance, ao);
    }
    return out;
}

AlgorithmFitResult fit_algorithm(const FeatureOperator& features, const Ruler& ruler, const std::string& ruler_json,
                                 const AlgorithmTrainingData& data, const AlgorithmFitOptions& options) {
    if (data.counts == nullptr) throw Error("fit: no counts");
    const auto& counts = *data.counts;
    const auto n = counts.n_rows;
    if (static_cast<std::int64_t>(data.symbols.size()) != counts.n_cols)
        throw Error(fmt::format("fit: {} gene symbols for {} genes", data.symbols.size(), counts.n_cols));
    if (static_cast<std::int64_t>(data.labels.size()) != n || static_cast<std::int64_t>(data.donors.size()) != n ||
        (!data.tissues.empty() && static_cast<std::int64_t>(data.tissues.size()) != n))
        throw Error("fit: labels, donors and tissues need one entry per cell");

    AlgorithmFitResult result;
    result.n_cells = n;
    // stages from labels
    const auto stage_of_cell = stages_of_labels(ruler, data.labels);
    std::vector<std::int64_t> on_ruler;
    std::map<std::string, std::int64_t> unmapped;
    for (std::int64_t i = 0; i < n; ++i) {
        if (stage_of_cell[i] >= 0) on_ruler.push_back(i);
        else ++unmapped[data.labels[i]];
    }
    for (const auto& [label, count] : unmapped) result.unmapped_labels.push_back(fmt::format("{} ({} cells)", label, count));
    result.n_on_ruler = static_cast<std::int64_t>(on_ruler.size());
    if (on_ruler.empty()) throw Error("fit: no cell-type label maps to a stage of the ruler (check --label-key and the ruler's labels)");

    // features of the cells on the ruler, standardised on them
    const auto match = match_panel(data.symbols, features.genes);
    result.missing_panel_genes = match.missing;
    const CsrMatrix train_counts = select_rows(counts, on_ruler);
    const auto expr = panel_expression(train_counts, match, {.target_sum = options.target_sum, .threads = options.threads});
    RowMatrixF f = features.apply(expr.x, options.threads);
    const auto standardizer = Standardizer::fit(f);
    standardizer.apply_in_place(f);
    std::vector<std::int64_t> stage(on_ruler.size());
    for (std::size_t i = 0; i < on_ruler.size(); ++i) stage[i] = stage_of_cell[on_ruler[i]];
    {
        std::vector<std::int64_t> distinct = stage;
        std::sort(distinct.begin(), distinct.end());
        if (std::unique(distinct.begin(), distinct.end()) - distinct.begin() < 2)
            throw Error("fit: the training cells cover fewer than two stages of the ruler");
    }
    const Eigen::MatrixXd distance = ruler_distances(ruler);

    // Stage 2: the adaptor on anchors or on stage-balanced cells
    std::vector<std::string> donors, tissues, labels;
    for (auto i : on_ruler) {
        donors.push_back(data.donors[i]);
        tissues.push_back(data.tissues.empty() ? std::string() : data.tissues[i]);
        labels.push_back(data.labels[i]);
    }
    auto stage2 = fit_algorithm_adaptor(f, {stage, donors, tissues, labels}, distance, options);
    const AdaptorFitResult& adaptor = stage2.fit;
    result.adaptor_rows = stage2.rows;
    result.adaptor_loss = adaptor.final_loss;
    result.adaptor_parameters = adaptor.adaptor.parameter_count();

    // Stage 3: readouts on the latent of every training cell
    const RowMatrixF z = adaptor.adaptor.encode(f, options.threads);
    Algorithm& a = result.algorithm;
    a.features = features;
    a.target_sum = options.target_sum;
    a.feature_mean = standardizer.mean;
    a.feature_sd = standardizer.sd;
    a.adaptor_W = adaptor.adaptor.W;
    a.adaptor_b = adaptor.adaptor.b;
    a.adaptor_beta = adaptor.adaptor.beta;
    a.ruler_json = ruler_json;
    a.ood = training_ood_bounds(adaptor.adaptor.reconstruction_error(f, options.threads), expr.detected_fraction);

    Eigen::VectorXd depth(static_cast<Eigen::Index>(stage.size()));
    std::vector<std::int64_t> branch(stage.size());
    std::vector<std::string> stage_names;
    for (const auto& s : ruler.stages) stage_names.push_back(s.name);
    for (std::size_t i = 0; i < stage.size(); ++i) {
        depth(static_cast<Eigen::Index>(i)) = static_cast<double>(ruler.stages[stage[i]].depth);
        const auto& b = ruler.stages[stage[i]].branch;
        branch[i] = std::find(ruler.branches.begin(), ruler.branches.end(), b) - ruler.branches.begin();
    }
    const auto dr = fit_depth_readout(z, depth, {.alpha = 1.0, .threads = options.threads});
    a.readouts.push_back(as_readout("depth", dr.readout));
    result.readouts.push_back({"depth", dr.readout.parameter_count(), dr.n_rows, dr.r_squared});
    LogisticOptions lo;
    lo.threads = options.threads;
    const auto fit_classes = [&](const std::string& task, const std::vector<std::int64_t>& y,
                                 const std::vector<std::string>& names) {
        std::vector<std::int64_t> distinct = y;
        std::sort(distinct.begin(), distinct.end());
        if (std::unique(distinct.begin(), distinct.end()) - distinct.begin() < 2) {
            result.skipped_tasks.push_back(task + ": the training cells hold a single class");
            return;
        }
        const auto r = fit_softmax_readout(z, y, names, lo);
        a.readouts.push_back(as_readout(task, r.readout));
        std::vector<std::int64_t> truth(y.size(), -1);
        for (std::size_t i = 0; i < y.size(); ++i)
            for (std::size_t c = 0; c < r.class_codes.size(); ++c)
                if (r.class_codes[c] == y[i]) truth[i] = static_cast<std::int64_t>(c);
        result.readouts.push_back({task, r.readout.parameter_count(), r.info.n_rows, accuracy(r.readout.predict(z), truth)});
    };
    fit_classes("branch", branch, ruler.branches);
    fit_classes("stage", stage, stage_names);
    for (const auto& task : options.binary_tasks) {
        std::vector<std::int64_t> y(stage.size(), -1);
        std::int64_t n0 = 0, n1 = 0;
        for (std::size_t i = 0; i < stage.size(); ++i) {
            const auto& name = ruler.stages[stage[i]].name;
            if (std::find(task.negative_stages.begin(), task.negative_stages.end(), name) != task.negative_stages.end()) y[i] = 0, ++n0;
            if (std::find(task.positive_stages.begin(), task.positive_stages.end(), name) != task.positive_stages.end()) y[i] = 1, ++n1;
        }
        if (n0 < options.min_binary_cells || n1 < options.min_binary_cells) {
            result.skipped_tasks.push_back(fmt::format("{}: {} {} and {} {} training cells (need {} each)", task.name, n0,
                                                       task.negative_class, n1, task.positive_class, options.min_binary_cells));
            continue;
        }
        const auto r = fit_binary_readout(z, y, {task.negative_class, task.positive_class}, lo);
        a.readouts.push_back(as_readout(task.name, r.readout));
        result.readouts.push_back({task.name, r.readout.parameter_count(), r.info.n_rows, accuracy(r.readout.predict(z), y)});
    }
    return result;
}

namespace {

/// Row-wise softmax of logits (max subtracted first), in double.
RowMatrixD softmax_rows(const RowMatrixF& logits) {
    RowMatrixD p = logits.cast<double>();
    for (Eigen::Index i = 0; i < p.rows(); ++i) {
        p.row(i).array() -= p.row(i).maxCoeff();
        p.row(i) = p.row(i).array().exp().matrix();
        p.row(i) /= p.row(i).sum();
    }
    return p;
}

} // namespace

Adaptor algorithm_adaptor(const Algorithm& a) {
    Adaptor adaptor;
    adaptor.W = a.adaptor_W;
    adaptor.b = a.adaptor_b;
    adaptor.beta = a.adaptor_beta;
    return adaptor;
}

AlgorithmReadoutScores score_algorithm_readouts(const Algorithm& a, const RowMatrixF& z) {
    if (z.cols() != a.latent_dim())
        throw Error(fmt::format("readouts: latent of {} dimensions for an algorithm of {}", z.cols(), a.latent_dim()));
    AlgorithmReadoutScores s;
    for (const auto& ro : a.readouts) {
        const RowMatrixF o = linear(ro, z);
        if (ro.kind == "regression") {
            s.depth = o.col(0).cast<double>();
        } else if (ro.kind == "softmax" && (ro.task == "branch" || ro.task == "stage")) {
            (ro.task == "branch" ? s.branch_probability : s.stage_probability) = softmax_rows(o);
            (ro.task == "branch" ? s.branch_classes : s.stage_classes) = ro.classes;
        } else if (ro.kind == "binary") {
            Eigen::VectorXd e = (-o.col(0).cast<double>()).array().exp();
            s.probabilities.emplace_back(ro.task, (1.0 + e.array()).inverse().matrix());
        }
    }
    return s;
}

AlgorithmFeatureOutputs apply_algorithm_to_features(const Algorithm& a, RowMatrixF features, int threads) {
    if (features.cols() != a.feature_mean.size())
        throw Error(fmt::format("apply: {} features for an algorithm of {}", features.cols(), a.feature_mean.size()));
    Standardizer{a.feature_mean, a.feature_sd}.apply_in_place(features);
    auto enc = algorithm_adaptor(a).encode_with_error(features, threads);
    AlgorithmFeatureOutputs out;
    out.readouts = score_algorithm_readouts(a, enc.z);
    out.latent = std::move(enc.z);
    out.reconstruction_error = std::move(enc.reconstruction_error);
    return out;
}

PanelMatch match_algorithm_panel(const Algorithm& a, const std::vector<std::string>& symbols,
                                 const AlgorithmApplyOptions& options) {
    auto panel = match_panel(symbols, a.features.genes);
    if (panel.missing_fraction() > options.max_missing_fraction)
        throw Error(fmt::format("{} of the algorithm's {} panel genes are missing from the input ({:.0f}% > the {:.0f}% "
                                "allowed; check the gene symbol column, or raise --max-missing)",
                                panel.missing.size(), panel.column.size(), 100.0 * panel.missing_fraction(),
                                100.0 * options.max_missing_fraction));
    return panel;
}

namespace {

/// The algorithm unpacked once for applying.
struct ApplyPlan {
    const Algorithm& algorithm;
    PanelMatch panel;
    std::vector<std::int64_t> panel_of; ///< dataset column -> panel position
    Standardizer standardizer;
    Adaptor adaptor;
    std::optional<FoldedApplyPlan> folded; ///< set unless exact features are asked for or a block is dense
};

/// Outputs for @p rows cells, with the fields the algorithm's readouts fill.
AlgorithmApplyResult allocate_outputs(const Algorithm& a, std::int64_t rows) {
    AlgorithmApplyResult r;
    r.latent.resize(rows, a.latent_dim());
    r.reconstruction_error.resize(rows);
    r.detected_fraction.resize(static_cast<std::size_t>(rows));
    for (const auto& ro : a.readouts) {
        if (ro.kind == "regression") r.depth.resize(rows);
        else if (ro.kind == "softmax" && ro.task == "branch") r.branch.resize(static_cast<std::size_t>(rows));
        else if (ro.kind == "softmax" && ro.task == "stage") r.stage.resize(static_cast<std::size_t>(rows));
        else if (ro.kind == "binary") r.probabilities.emplace_back(ro.task, Eigen::VectorXd(rows));
    }
    return r;
}

/// Every stage for rows [begin, end) of @p counts into the same rows of @p out. The caller
/// passes fixed blocks of kApplyRowBlock rows, so the products see the same operands whatever
/// the chunking; everything runs on the calling thread.
void apply_rows(const ApplyPlan& p, const CsrMatrix& counts, std::int64_t begin, std::int64_t end, AlgorithmApplyResult& out) {
    const auto& a = p.algorithm;
    const auto n = end - begin;
    const auto g = static_cast<std::int64_t>(p.panel.column.size());
    const auto expr = sparse_panel_expression(counts, begin, end, p.panel_of, g, a.target_sum);
    AdaptorEncoding enc;
    if (p.folded) {
        folded_encode(*p.folded, expr, enc.z, enc.reconstruction_error);
    } else {
        RowMatrixF x = RowMatrixF::Zero(n, g);
        for (std::int64_t i = 0; i < n; ++i)
            for (auto e = expr.indptr[i]; e < expr.indptr[i + 1]; ++e) x(i, expr.position[e]) = expr.value[e];
        RowMatrixF f = a.features.apply(x, 1);
        p.standardizer.apply_in_place(f);
        enc = p.adaptor.encode_with_error(f, 1);
    }
    out.latent.middleRows(begin, n) = enc.z;
    out.reconstruction_error.segment(begin, n) = enc.reconstruction_error;
    std::copy(expr.detected_fraction.begin(), expr.detected_fraction.end(), out.detected_fraction.begin() + begin);
    std::size_t binary = 0;
    for (const auto& ro : a.readouts) {
        if (ro.kind == "softmax" && ro.task != "branch" && ro.task != "stage") continue;
        const RowMatrixF o = linear(ro, enc.z);
        if (ro.kind == "regression") {
            out.depth.segment(begin, n) = o.col(0).cast<double>();
        } else if (ro.kind == "softmax") {
            auto& dst = ro.task == "branch" ? out.branch : out.stage;
            for (Eigen::Index i = 0; i < n; ++i) {
                Eigen::Index best = 0;
                o.row(i).maxCoeff(&best); // ties: the first, as SoftmaxReadout::predict
                dst[static_cast<std::size_t>(begin + i)] = ro.classes.at(static_cast<std::size_t>(best));
            }
        } else if (ro.kind == "binary") {
            Eigen::VectorXd e = (-o.col(0).cast<double>()).array().exp();
            out.probabilities[binary++].second.segment(begin, n) = (1.0 + e.array()).inverse();
        }
    }
}

/// Copies a chunk's outputs into rows [first_row, ...) of @p all (shaped by allocate_outputs()).
void place_rows(AlgorithmApplyResult& chunk, std::int64_t first_row, AlgorithmApplyResult& all) {
    const auto n = chunk.latent.rows();
    all.latent.middleRows(first_row, n) = chunk.latent;
    all.reconstruction_error.segment(first_row, n) = chunk.reconstruction_error;
    std::copy(chunk.detected_fraction.begin(), chunk.detected_fraction.end(), all.detected_fraction.begin() + first_row);
    if (all.depth.size() > 0) all.depth.segment(first_row, n) = chunk.depth;
    std::move(chunk.branch.begin(), chunk.branch.end(), all.branch.begin() + first_row);
    std::move(chunk.stage.begin(), chunk.stage.end(), all.stage.begin() + first_row);
    for (std::size_t t = 0; t < all.probabilities.size(); ++t)
        all.probabilities[t].second.segment(first_row, n) = chunk.probabilities[t].second;
}

} // namespace

PanelMatch apply_algorithm_streamed(const Algorithm& a, RowBlockReader& counts, const std::vector<std::string>& symbols,
                                    const AlgorithmApplyOptions& options, const AlgorithmApplySink& sink) {
    if (static_cast<std::int64_t>(symbols.size()) != counts.n_cols())
        throw Error(fmt::format("apply: {} gene symbols for {} genes", symbols.size(), counts.n_cols()));
    if (options.chunk_rows < 1) throw Error(fmt::format("apply: chunk size {} (need at least 1 cell)", options.chunk_rows));
    const Adaptor adaptor = algorithm_adaptor(a);
    auto panel = match_algorithm_panel(a, symbols, options);
    auto panel_of = panel_position_of_columns(panel, counts.n_cols());
    std::optional<FoldedApplyPlan> folded;
    if (!options.exact_features) folded = make_folded_apply_plan(a);
    const ApplyPlan plan{a, std::move(panel), std::move(panel_of), Standardizer{a.feature_mean, a.feature_sd}, adaptor,
                         std::move(folded)};

    const auto n = counts.n_rows();
    // chunks start on multiples of the row block (clamped to n first, so the rounding cannot overflow)
    const auto wanted = std::min(options.chunk_rows, std::max<std::int64_t>(n, 1));
    const auto chunk = chunk_count(wanted, kApplyRowBlock) * kApplyRowBlock;
    const auto read = [&](std::int64_t begin, CsrMatrix& block) {
        const auto end = std::min(n, begin + chunk);
        counts.read_rows_into(begin, end, block);
        if (block.n_rows != end - begin || block.n_cols != counts.n_cols())
            throw Error(fmt::format("apply: the reader gave {} x {} for rows [{}, {})", block.n_rows, block.n_cols, begin, end));
    };
    // two blocks in turn: one computed while the reader fills the other
    CsrMatrix current, following;
    if (n > 0) read(0, current);
    for (std::int64_t begin = 0; begin < n; begin += chunk) {
        const auto end = std::min(n, begin + chunk);
        // read ahead while this chunk is computed; joined before the sink runs, so reader and
        // sink (both HDF5 in the CLI) never run at once
        std::future<void> next;
        if (end < n) next = std::async(std::launch::async, read, end, std::ref(following));
        if (options.prepare_block) options.prepare_block(current, begin);
        auto out = allocate_outputs(a, end - begin);
        parallel_for(end - begin, kApplyRowBlock, options.threads,
                     [&](std::int64_t, std::int64_t b, std::int64_t e) { apply_rows(plan, current, b, e, out); });
        if (next.valid()) next.get();
        sink(begin, out);
        if (options.progress) options.progress(end, n);
        std::swap(current, following);
    }
    return plan.panel;
}

AlgorithmApplyResult apply_algorithm(const Algorithm& a, RowBlockReader& counts, const std::vector<std::string>& symbols,
                                     const AlgorithmApplyOptions& options) {
    AlgorithmApplyResult all = allocate_outputs(a, counts.n_rows());
    all.panel = apply_algorithm_streamed(a, counts, symbols, options,
                                         [&](std::int64_t first_row, AlgorithmApplyResult& chunk) { place_rows(chunk, first_row, all); });
    return all;
}

AlgorithmApplyResult apply_algorithm(const Algorithm& a, const CsrMatrix& counts, const std::vector<std::string>& symbols,
                                     const AlgorithmApplyOptions& options) {
    InMemoryRowReader reader(counts);
    return apply_algorithm(a, reader, symbols, options);
}

} // namespace scx
