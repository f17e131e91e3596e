#include "scextract/bench/algorithm_method.hpp"

#include "scextract/core/error.hpp"
#include "scextract/bench/linear_readout_set.hpp"
#include "scextract/bench/mlp_probe_method.hpp"
#include "scextract/baselines/pca_projection.hpp"
#include "scextract/bench/raw_expression_method.hpp"
#include "scextract/extract/control_operators.hpp"
#include "scextract/io/json_object_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

std::string_view ladder_bottleneck_name(LadderBottleneck b) {
    switch (b) {
    case LadderBottleneck::adaptor: return "adaptor";
    case LadderBottleneck::none: return "none";
    case LadderBottleneck::pca: return "pca";
    }
    return "?";
}

std::string_view ladder_latent_name(LadderLatent l) { return l == LadderLatent::z ? "z" : "unit"; }

std::string_view ladder_readout_name(LadderReadout r) { return r == LadderReadout::linear ? "linear" : "mlp"; }

AlgorithmMethod::AlgorithmMethod(std::string name, std::string description, FeatureOperator features,
                                 AlgorithmFitOptions options, AlgorithmLadderOptions ladder)
    : name_(std::move(name)), description_(std::move(description)), features_(std::move(features)),
      options_(std::move(options)), ladder_(std::move(ladder)) {}

MethodInfo AlgorithmMethod::info() const {
    return {name_, description_, PseudotimeClass::supervised, parameters_};
}

std::optional<OperatorSize> AlgorithmMethod::operator_size() const {
    return OperatorSize{features_.stored_values(), features_.size_mb()};
}

namespace {

std::vector<std::string> take(const std::vector<std::string>& v, std::span<const std::int64_t> rows) {
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const auto r : rows) out.push_back(v[static_cast<std::size_t>(r)]);
    return out;
}

/// Index of @p name in @p names, or -1.
std::int64_t index_of(const std::vector<std::string>& names, const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : it - names.begin();
}

/// Every row divided by its length (lengths floored at 1e-12, as the adaptor's cosines).
void normalise_rows(RowMatrixF& z) {
    for (Eigen::Index i = 0; i < z.rows(); ++i) z.row(i) /= std::max(z.row(i).norm(), 1e-12F);
}

} // namespace

MethodPrediction AlgorithmMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                            std::span<const std::int64_t> test, int threads) {
    return ladder_.exported() ? run_exported(cells, train, test, threads) : run_rung(cells, train, test, threads);
}

MethodPrediction AlgorithmMethod::run_exported(const BenchCells& cells, std::span<const std::int64_t> train,
                                               std::span<const std::int64_t> test, int threads) {
    const CsrMatrix train_counts = select_rows(*cells.counts, train);
    AlgorithmTrainingData data;
    data.counts = &train_counts;
    data.symbols = cells.symbols;
    data.labels = take(cells.labels, train);
    std::vector<std::string> donors, tissues;
    for (const auto r : train) {
        donors.push_back(cells.donor_names[cells.donor[r]]);
        tissues.push_back(cells.tissue_names[cells.tissue[r]]);
    }
    data.donors = std::move(donors);
    data.tissues = std::move(tissues);
    auto options = options_;
    options.threads = threads;
    const auto fit = fit_algorithm(features_, *cells.ruler, cells.ruler_json, data, options);
    std::int64_t parameters = fit.adaptor_parameters;
    for (const auto& r : fit.readouts) parameters += r.parameters;
    parameters_ = parameters;

    const CsrMatrix test_counts = select_rows(*cells.counts, test);
    const auto applied = apply_algorithm(fit.algorithm, test_counts, cells.symbols, {.max_missing_fraction = 1.0, .threads = threads});
    MethodPrediction p;
    p.latent = applied.latent;
    p.pseudotime = applied.depth;
    std::vector<std::string> stage_names;
    for (const auto& s : cells.ruler->stages) stage_names.push_back(s.name);
    for (const auto& b : applied.branch) p.branch.push_back(index_of(cells.ruler->branches, b));
    for (const auto& s : applied.stage) p.stage.push_back(index_of(stage_names, s));
    for (const auto& task : cells.binary_tasks) {
        const auto it = std::find_if(applied.probabilities.begin(), applied.probabilities.end(),
                                     [&](const auto& tp) { return tp.first == task.name; });
        p.binary_scores.push_back(it == applied.probabilities.end() ? Eigen::VectorXd() : it->second);
    }
    return p;
}

MethodPrediction AlgorithmMethod::run_rung(const BenchCells& cells, std::span<const std::int64_t> train,
                                           std::span<const std::int64_t> test, int threads) {
    // The rung reads the shared panel's expression directly, so the operator must be over it.
    if (features_.genes != cells.panel)
        throw Error(fmt::format("{}: the operator's panel is not the benchmark's shared panel (set \"panel\": "
                                "{{\"from_operator\": ...}} to the operator file)",
                                name_));
    const auto rows = mapped_rows(cells, train);
    RowMatrixF f = features_.apply(bench_panel_expression(cells, rows, threads), threads);
    const auto standardizer = Standardizer::fit(f);
    standardizer.apply_in_place(f);
    RowMatrixF ft = features_.apply(bench_panel_expression(cells, test, threads), threads);
    standardizer.apply_in_place(ft);

    std::int64_t parameters = 0;
    RowMatrixF z, zt;
    switch (ladder_.bottleneck) {
    case LadderBottleneck::none:
        z = std::move(f);
        zt = std::move(ft);
        break;
    case LadderBottleneck::pca: {
        const auto pca = fit_pca_projection(f, {.n_components = ladder_.pca_components, .center = true, .threads = threads});
        parameters += pca.projection.parameter_count();
        z = pca.scores;
        zt = pca.projection.transform(ft, threads);
        break;
    }
    case LadderBottleneck::adaptor: {
        AdaptorRowLabels labels;
        for (const auto r : rows) {
            labels.stage.push_back(cells.stage[r]);
            labels.donors.push_back(cells.donor_names[cells.donor[r]]);
            labels.tissues.push_back(cells.tissue_names[cells.tissue[r]]);
            labels.labels.push_back(cells.labels[r]);
        }
        auto options = options_;
        options.threads = threads;
        const auto stage2 = fit_algorithm_adaptor(f, labels, ruler_distances(*cells.ruler), options);
        parameters += stage2.fit.adaptor.parameter_count();
        z = stage2.fit.adaptor.encode(f, threads);
        zt = stage2.fit.adaptor.encode(ft, threads);
        break;
    }
    }
    if (ladder_.latent == LadderLatent::unit) {
        normalise_rows(z);
        normalise_rows(zt);
    }

    MethodPrediction p;
    if (ladder_.readout == LadderReadout::linear) {
        // As their own methods do: fit_algorithm reads the adaptor's z as it is, the PCA-10
        // baseline standardises its scores; standardised features need nothing more, and on
        // them the logistic fits stop at the raw-panel baseline's tolerance (sklearn's 1e-4;
        // raw_expression_method.hpp says why), so that rung is that baseline.
        LinearReadoutSetOptions ro;
        ro.standardize = ladder_.bottleneck == LadderBottleneck::pca;
        if (ladder_.bottleneck == LadderBottleneck::none) ro.logistic.tolerance = RawExpressionOptions{}.readouts.logistic.tolerance;
        ro.threads = threads;
        const auto readouts = fit_linear_readout_set(cells, rows, z, ro);
        parameters += readouts.parameter_count();
        p = readouts.predict(zt);
    } else {
        auto mlp = fit_predict_mlp_readouts(cells, rows, z, zt, ladder_.mlp, options_.min_binary_cells);
        parameters += mlp.parameters;
        p = std::move(mlp.prediction);
    }
    parameters_ = parameters;
    p.latent = std::move(zt);
    return p;
}

// --- the bench config's "algorithm" entry ---

namespace {

/// The ladder keys of an algorithm entry: bottleneck (adaptor | none | pca, with components),
/// latent (z | unit) and readout (linear | mlp, with hidden). Combinations that cannot differ
/// are refused.
AlgorithmLadderOptions algorithm_ladder_options(JsonObjectReader& r) {
    AlgorithmLadderOptions o;
    const auto bottleneck = r.string("bottleneck", "adaptor");
    if (bottleneck == "none") o.bottleneck = LadderBottleneck::none;
    else if (bottleneck == "pca") o.bottleneck = LadderBottleneck::pca;
    else if (bottleneck != "adaptor") r.fail("'bottleneck' must be adaptor, none or pca");
    if (r.has("components") && o.bottleneck != LadderBottleneck::pca) r.fail("'components' applies to 'bottleneck' pca only");
    o.pca_components = r.integer("components", o.pca_components, 100000);
    if (o.pca_components < 1) r.fail("'components' must be positive");
    const auto latent = r.string("latent", "z");
    if (latent == "unit") o.latent = LadderLatent::unit;
    else if (latent != "z") r.fail("'latent' must be z or unit");
    if (o.latent == LadderLatent::unit && o.bottleneck != LadderBottleneck::adaptor)
        r.fail("'latent' unit (z / |z|) applies to the adaptor's latent, whose lengths the ruler term leaves free");
    const auto readout = r.string("readout", "linear");
    if (readout == "mlp") o.readout = LadderReadout::mlp;
    else if (readout != "linear") r.fail("'readout' must be linear or mlp");
    if (r.has("hidden") && o.readout != LadderReadout::mlp) r.fail("'hidden' applies to 'readout' mlp only");
    o.mlp.hidden = {r.integer("hidden", o.mlp.hidden.front(), 65536)};
    if (o.mlp.hidden.front() < 1) r.fail("'hidden' must be a positive width");
    return o;
}

} // namespace

AlgorithmMethodSpec algorithm_method_spec_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    AlgorithmMethodSpec s;
    s.operator_file = r.string("operator", "");
    if (s.operator_file.empty()) r.fail("'operator' is required: an operator file from `scextract export`, or \"identity\"");
    s.control = r.string("control", s.control);
    s.ladder = algorithm_ladder_options(r);
    if (r.has("adaptor") && s.ladder.bottleneck != LadderBottleneck::adaptor)
        r.fail("'adaptor' chooses the Stage 2 variant; it cannot differ with 'bottleneck' none or pca");
    const auto variant = r.string("adaptor", std::string(adaptor_variant_name(s.fit.adaptor.variant)));
    if (variant != "anchor" && variant != "cell" && variant != "hybrid") r.fail("'adaptor' must be anchor, cell or hybrid");
    s.fit.adaptor = adaptor_options(parse_adaptor_variant(variant));
    s.fit.adaptor.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(s.fit.adaptor.seed)));
    if (s.operator_file == "identity") {
        if (s.control != "none") r.fail("'control' applies to an operator file, not to \"identity\"");
        if (r.has("orientation")) r.fail("'orientation' cannot differ for the identity operator (I^T = I)");
    } else {
        auto& fs = s.features;
        fs.variant = r.string("features", fs.variant);
        const auto head = parse_weighted_heads(r.string("head", "2:5"));
        if (head.size() != 1) r.fail("'head' takes one layer:head");
        fs.layer = head[0].layer;
        fs.head = head[0].head;
        if (r.has("heads")) fs.heads = parse_weighted_heads(r.string("heads", ""));
        fs.rank = r.integer("rank", fs.rank, 100000);
        fs.n_factors = r.integer("factors", fs.n_factors, 100000);
        fs.top_genes = r.integer("top_genes", fs.top_genes, 100000);
        const auto orientation = r.string("orientation", "xA");
        if (orientation != "xA" && orientation != "xAT") r.fail("'orientation' must be xA (x A) or xAT (x A^T)");
        fs.orientation = parse_orientation(orientation);
        if (s.control == "matched_spectrum" || s.control == "gene_permuted")
            s.control_seed = static_cast<std::uint64_t>(r.integer("control_seed", static_cast<std::int64_t>(s.control_seed)));
        else if (s.control != "none")
            r.fail("'control' must be none, matched_spectrum or gene_permuted");
    }
    r.finish();
    return s;
}

std::unique_ptr<AlgorithmMethod>
make_algorithm_method(std::string name, const AlgorithmMethodSpec& spec, const std::vector<std::string>& panel,
                      const std::function<const OperatorSet&(const std::string&)>& read_operators) {
    FeatureOperator features;
    std::string description;
    if (spec.operator_file == "identity") {
        features = identity_operator(panel);
        description = "Stage 2/3 on the panel expression itself (A = I control)";
    } else {
        features = build_feature_operator(read_operators(spec.operator_file), spec.features);
        description = fmt::format("extracted algorithm: {} ({})", features.description, spec.operator_file);
        if (spec.control == "matched_spectrum") {
            features = matched_spectrum_operator(features, spec.control_seed);
            description = "Stage 2/3 on a random operator with the same singular values (control): " + features.description;
        } else if (spec.control == "gene_permuted") {
            features = gene_permuted_operator(features, spec.control_seed);
            description = "Stage 2/3 on the operator with its genes shuffled (control): " + features.description;
        }
    }
    const auto& ladder = spec.ladder;
    if (!ladder.exported())
        description += fmt::format(" [ladder rung: bottleneck {}, latent {}, readouts {}]", ladder_bottleneck_name(ladder.bottleneck),
                                   ladder_latent_name(ladder.latent), ladder_readout_name(ladder.readout));
    return std::make_unique<AlgorithmMethod>(std::move(name), std::move(description), std::move(features), spec.fit, ladder);
}

} // namespace scx
