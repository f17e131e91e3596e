#include "scextract/bench/nested_selection.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/shuffle.hpp"
#include "scextract/io/json_object_reader.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scx {

NestedSelectionOptions nested_selection_options_from_json(const nlohmann::ordered_json& params, const std::string& where) {
    JsonObjectReader r(params, where);
    if (!r.has("candidates") || !r.at("candidates").is_array() || r.at("candidates").size() < 2)
        r.fail("'candidates' must list at least two methods to choose from");
    NestedSelectionOptions o;
    o.folds = r.integer("folds", o.folds, 1000);
    if (o.folds < 2) r.fail("'folds' must be at least 2");
    o.seed = static_cast<std::uint64_t>(r.integer("seed", static_cast<std::int64_t>(o.seed)));
    if (r.has("endpoints")) {
        const auto& e = r.at("endpoints");
        if (!e.is_array() || std::any_of(e.begin(), e.end(), [](const auto& x) { return !x.is_string(); }))
            r.fail("'endpoints' must be a list of endpoint names");
        o.endpoints = e.get<std::vector<std::string>>();
    }
    r.finish();
    return o;
}

NestedSelectionResult select_on_training_donors(const BenchCells& cells, std::span<const std::int64_t> train,
                                                std::span<const std::unique_ptr<BenchMethod>> candidates,
                                                const NestedSelectionOptions& options, int threads) {
    if (candidates.empty()) throw Error("nested selection: no candidate");
    std::vector<std::int64_t> donors;
    for (const auto i : train) donors.push_back(cells.donor[static_cast<std::size_t>(i)]);
    std::sort(donors.begin(), donors.end());
    donors.erase(std::unique(donors.begin(), donors.end()), donors.end());
    if (donors.size() < 2)
        throw Error(fmt::format("nested selection: the training cells come from {} donor(s); choosing on training donors "
                                "needs at least two",
                                donors.size()));
    Rng rng(options.seed);
    shuffle_in_place(donors, rng);
    const auto folds = std::clamp<std::int64_t>(options.folds, 2, static_cast<std::int64_t>(donors.size()));
    const auto endpoints = select_endpoints(cells, options.endpoints);

    NestedSelectionResult r;
    r.folds = folds;
    r.score.assign(candidates.size(), 0.0);
    for (std::int64_t f = 0; f < folds; ++f) {
        DonorSplit fold;
        fold.index = f;
        for (std::size_t k = static_cast<std::size_t>(f); k < donors.size(); k += static_cast<std::size_t>(folds))
            fold.test_donors.push_back(donors[k]);
        std::sort(fold.test_donors.begin(), fold.test_donors.end());
        for (const auto i : train)
            (std::binary_search(fold.test_donors.begin(), fold.test_donors.end(), cells.donor[static_cast<std::size_t>(i)])
                 ? fold.test
                 : fold.train)
                .push_back(i);
        for (std::size_t c = 0; c < candidates.size(); ++c) {
            const auto p = candidates[c]->run_split(cells, fold.train, fold.test, threads);
            const auto s = score_split(cells, fold, p, endpoints, options.endpoint_options);
            double sum = 0;
            std::int64_t n = 0;
            for (const auto v : s.split_value)
                if (std::isfinite(v)) sum += v, ++n;
            r.score[c] += (n > 0 ? sum / static_cast<double>(n) : 0.0) / static_cast<double>(folds);
        }
    }
    r.chosen = std::max_element(r.score.begin(), r.score.end()) - r.score.begin(); // first of equals
    return r;
}

NestedSelectionMethod::NestedSelectionMethod(std::string name, std::vector<std::unique_ptr<BenchMethod>> candidates,
                                             NestedSelectionOptions options)
    : name_(std::move(name)), candidates_(std::move(candidates)), options_(std::move(options)) {
    if (candidates_.empty()) throw Error(fmt::format("{}: no candidate to select from", name_));
    for (const auto& c : candidates_)
        if (c->info().pseudotime != candidates_.front()->info().pseudotime)
            throw Error(fmt::format("{}: the candidates' pseudotimes are of different classes", name_));
}

MethodInfo NestedSelectionMethod::info() const {
    std::vector<std::string> names;
    for (const auto& c : candidates_) names.push_back(c->info().name);
    return {name_,
            fmt::format("chosen per split on {} donor folds of the training cells among: {}", options_.folds, fmt::join(names, ", ")),
            candidates_.front()->info().pseudotime, parameters_};
}

void NestedSelectionMethod::prepare(const BenchCells& cells, int threads) {
    for (auto& c : candidates_) c->prepare(cells, threads);
}

MethodPrediction NestedSelectionMethod::run_split(const BenchCells& cells, std::span<const std::int64_t> train,
                                                  std::span<const std::int64_t> test, int threads) {
    const auto selection = select_on_training_donors(cells, train, candidates_, options_, threads);
    auto& chosen = *candidates_[static_cast<std::size_t>(selection.chosen)];
    auto p = chosen.run_split(cells, train, test, threads);
    parameters_ = chosen.info().trainable_parameters;
    choices_.push_back(chosen.info().name);
    std::vector<std::string> scores;
    for (std::size_t c = 0; c < candidates_.size(); ++c)
        scores.push_back(fmt::format("{} {:.4f}", candidates_[c]->info().name, selection.score[c]));
    note_ = fmt::format("chose {} ({})", choices_.back(), fmt::join(scores, ", "));
    return p;
}

} // namespace scx
