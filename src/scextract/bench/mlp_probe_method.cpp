#include "scextract/bench/mlp_probe_method.hpp"

#include "scextract/core/dense.hpp"
#include "scextract/core/error.hpp"
#include "scextract/bench/readout_targets.hpp"
#include "scextract/io/json_object_reader.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scx {

namespace {

/// Rows of the cache at @p rows; cells without any vocabulary gene (NaN embedding) get zeros.
RowMatrixF gather(const RowMatrixF& cache, std::span<const std::int64_t> rows) {
    return zero_nonfinite_rows(take_rows(cache, rows));
}

std::vector<std::int64_t> argmax_codes(const RowMatrixF& p, const std::vector<std::int64_t>& codes) {
    std::vector<std::int64_t> out(static_cast<std::size_t>(p.rows()));
    for (Eigen::Index i = 0; i < p.rows(); ++i) {
        Eigen::Index arg = 0;
        p.row(i).maxCoeff(&arg);
        out[static_cast<std::size_t>(i)] = codes[static_cast<std::size_t>(arg)];
    }
    return out;
}

} // namespace

MlpProbeMethodOptions mlp_probe_method_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    MlpProbeMethodOptions o;
    o.model = r.string("model", "");
    if (o.model.empty()) r.fail("'model' is required: an scGPT checkpoint directory");
    if (r.has("hidden")) {
        const auto& h = r.at("hidden");
        if (!h.is_array() || h.size() != 2 || !h[0].is_number_integer() || !h[1].is_number_integer() ||
            h[0].get<std::int64_t>() < 1 || h[1].get<std::int64_t>() < 1 || h[0].get<std::int64_t>() > 65536 ||
            h[1].get<std::int64_t>() > 65536)
            r.fail("'hidden' must be two positive widths of at most 65536 (a 3-layer probe)");
        o.probe.hidden = h.get<std::vector<std::int64_t>>();
    }
    o.probe.epochs = r.integer("epochs", o.probe.epochs, 100000);
    o.probe.batch_size = r.integer("batch_size", o.probe.batch_size, 10000000);
    o.probe.learning_rate = r.number("learning_rate", o.probe.learning_rate);
    o.probe.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(o.probe.seed)));
    o.embed.max_tokens = r.integer("max_tokens", o.embed.max_tokens, 100000);
    if (o.probe.epochs < 1 || o.probe.batch_size < 1 || !(o.probe.learning_rate > 0.0) || o.embed.max_tokens < 2)
        r.fail("'epochs', 'batch_size' and 'learning_rate' must be positive, 'max_tokens' at least 2");
    r.finish();
    return o;
}

MlpProbeMethod::MlpProbeMethod(MlpProbeMethodOptions options) : options_(std::move(options)) {}

MethodInfo MlpProbeMethod::info() const {
    std::string widths;
    for (const auto h : options_.probe.hidden) widths += fmt::format("{}-", h);
    return {options_.name.empty() ? std::string("scgpt_mlp") : options_.name,
            fmt::format("frozen scGPT mean-pooled embeddings ({}) + 3-layer MLP probe per task (d-{}out; Adam {}, {} epochs, "
                        "batch {})",
                        options_.model, widths, options_.probe.learning_rate, options_.probe.epochs, options_.probe.batch_size),
            PseudotimeClass::supervised, parameters_};
}

void MlpProbeMethod::prepare(const BenchCells& cells, int threads) {
    if (cells.counts == nullptr) throw Error("MLP probe: the benchmark cells have no counts");
    const auto checkpoint = load_scgpt_checkpoint(options_.model);
    auto o = options_.embed;
    o.threads = threads;
    embeddings_ = embed_cells(checkpoint, *cells.counts, cells.symbols, o).embedding;
}

MlpReadoutFit fit_predict_mlp_readouts(const BenchCells& cells, std::span<const std::int64_t> train, const RowMatrixF& train_x,
                                      const RowMatrixF& test_x, const MlpProbeOptions& probe, std::int64_t min_binary_cells) {
    if (train_x.rows() != static_cast<Eigen::Index>(train.size()))
        throw Error(fmt::format("MLP readouts: {} representation rows for {} training cells", train_x.rows(), train.size()));
    const auto targets = readout_targets(cells, train, min_binary_cells);
    const RowMatrixF x = take_rows(train_x, targets.keep);
    MlpReadoutFit out;
    MethodPrediction& p = out.prediction;
    const auto fit = [&](const RowMatrixF& rows, const ProbeTargets& t) {
        auto fitted = fit_mlp_probe(rows, t, probe);
        out.parameters += fitted.network.parameter_count();
        return fitted;
    };
    p.pseudotime = fit(x, {ProbeLoss::regression, targets.depth, {}, 0}).predict(test_x).col(0).cast<double>();
    const auto classes = [&](const std::vector<std::int64_t>& y) -> std::vector<std::int64_t> {
        const auto codes = present_codes(y);
        if (codes.size() < 2) return {};
        ProbeTargets t{ProbeLoss::softmax, {}, {}, static_cast<std::int64_t>(codes.size())};
        std::vector<Eigen::Index> labelled; // rows without a class (-1) do not train
        for (std::size_t i = 0; i < y.size(); ++i)
            if (y[i] >= 0) {
                labelled.push_back(static_cast<Eigen::Index>(i));
                t.label.push_back(std::lower_bound(codes.begin(), codes.end(), y[i]) - codes.begin());
            }
        return argmax_codes(fit(take_rows(x, labelled), t).predict(test_x), codes);
    };
    p.stage = classes(targets.stage);
    p.branch = classes(targets.branch);
    for (const auto& b : targets.binary) {
        if (!b.trained) {
            p.binary_scores.emplace_back();
            continue;
        }
        // rows outside the task (label -1) do not train its probe
        std::vector<Eigen::Index> in_task;
        ProbeTargets t{ProbeLoss::binary, {}, {}, 2};
        for (std::size_t i = 0; i < b.label.size(); ++i)
            if (b.label[i] >= 0) {
                in_task.push_back(static_cast<Eigen::Index>(i));
                t.label.push_back(b.label[i]);
            }
        p.binary_scores.push_back(fit(take_rows(x, in_task), t).predict(test_x).col(0).cast<double>());
    }
    return out;
}

MethodPrediction MlpProbeMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                           std::span<const std::int64_t> test, int threads) {
    (void)threads; // the probes' products use Eigen's threads; results do not depend on them
    if (embeddings_.rows() != cells.n_cells())
        throw Error("MLP probe: prepare() has not embedded these cells");
    auto fit = fit_predict_mlp_readouts(cells, train, gather(embeddings_, train), gather(embeddings_, test), options_.probe,
                                        options_.min_binary_cells);
    parameters_ = fit.parameters;
    return std::move(fit.prediction);
}

} // namespace scx
