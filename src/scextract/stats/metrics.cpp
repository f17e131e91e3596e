#include "scextract/stats/metrics.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/stats/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kRowChunk = 16; // rows per parallel chunk; fixed, so results ignore threads

void check_binary(const char* what, const std::vector<double>& scores, const std::vector<std::int64_t>& labels) {
    if (scores.size() != labels.size())
        throw Error(fmt::format("{}: {} scores but {} labels", what, scores.size(), labels.size()));
    if (scores.empty()) throw Error(fmt::format("{}: no scores", what));
    for (std::size_t i = 0; i < scores.size(); ++i) {
        if (!std::isfinite(scores[i])) throw Error(fmt::format("{}: score {} is {}", what, i, scores[i]));
        if (labels[i] != 0 && labels[i] != 1)
            throw Error(fmt::format("{}: label {} is {}, not 0 or 1", what, i, labels[i]));
    }
}

/// Labelled rows only (truth >= 0), checked.
void labelled_pairs(const char* what, const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& truth,
                    std::vector<std::int64_t>& p, std::vector<std::int64_t>& t) {
    if (predicted.size() != truth.size())
        throw Error(fmt::format("{}: {} predictions but {} true labels", what, predicted.size(), truth.size()));
    for (std::size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] < 0) continue;
        p.push_back(predicted[i]);
        t.push_back(truth[i]);
    }
    if (t.empty()) throw Error(fmt::format("{}: no labelled rows", what));
}

double mean_of(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

} // namespace

double auroc(const std::vector<double>& scores, const std::vector<std::int64_t>& labels) {
    check_binary("auroc", scores, labels);
    const auto n1 = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
    const auto n0 = static_cast<double>(labels.size()) - n1;
    if (n1 == 0 || n0 == 0) return kNaN; // one class: undefined (sklearn warns and returns NaN)
    // Mann-Whitney form: average ranks make a tied positive/negative pair count one half,
    // which is the trapezoidal area under sklearn's curve.
    const auto rank = average_ranks(scores);
    double positive_rank_sum = 0;
    for (std::size_t i = 0; i < rank.size(); ++i)
        if (labels[i] == 1) positive_rank_sum += rank[i];
    return (positive_rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0);
}

RocCurve roc_curve(const std::vector<double>& scores, const std::vector<std::int64_t>& labels) {
    check_binary("roc_curve", scores, labels);
    const std::size_t n = scores.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
    // One point per distinct score, at the last row of its tie group.
    std::vector<double> fps, tps, thresholds;
    double tp = 0;
    for (std::size_t i = 0; i < n; ++i) {
        tp += static_cast<double>(labels[order[i]]);
        if (i + 1 == n || scores[order[i + 1]] != scores[order[i]]) {
            tps.push_back(tp);
            fps.push_back(static_cast<double>(i + 1) - tp);
            thresholds.push_back(scores[order[i]]);
        }
    }
    RocCurve curve;
    curve.fpr.push_back(0.0);
    curve.tpr.push_back(0.0);
    curve.thresholds.push_back(std::numeric_limits<double>::infinity());
    const std::size_t m = fps.size();
    for (std::size_t i = 0; i < m; ++i) {
        // drop_intermediate: keep the ends and every point where the curve turns
        const bool keep = m <= 2 || i == 0 || i + 1 == m || fps[i - 1] - 2 * fps[i] + fps[i + 1] != 0 ||
                          tps[i - 1] - 2 * tps[i] + tps[i + 1] != 0;
        if (!keep) continue;
        curve.fpr.push_back(fps[i]);
        curve.tpr.push_back(tps[i]);
        curve.thresholds.push_back(thresholds[i]);
    }
    const double negatives = fps.back(), positives = tps.back();
    for (auto& v : curve.fpr) v = negatives > 0 ? v / negatives : kNaN;
    for (auto& v : curve.tpr) v = positives > 0 ? v / positives : kNaN;
    return curve;
}

double balanced_accuracy(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& truth) {
    std::vector<std::int64_t> p, t;
    labelled_pairs("balanced_accuracy", predicted, truth, p, t);
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> per_class; // class -> (rows, correct)
    for (std::size_t i = 0; i < t.size(); ++i) {
        auto& [rows, correct] = per_class[t[i]];
        ++rows;
        correct += p[i] == t[i] ? 1 : 0;
    }
    std::vector<double> recall;
    for (const auto& [cls, rc] : per_class)
        recall.push_back(static_cast<double>(rc.second) / static_cast<double>(rc.first));
    return mean_of(recall);
}

double macro_f1(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& truth) {
    std::vector<std::int64_t> p, t;
    labelled_pairs("macro_f1", predicted, truth, p, t);
    struct Counts {
        std::int64_t tp = 0, true_rows = 0, predicted_rows = 0;
    };
    std::map<std::int64_t, Counts> per_class; // the union of true and predicted classes, sorted
    for (std::size_t i = 0; i < t.size(); ++i) {
        ++per_class[t[i]].true_rows;
        ++per_class[p[i]].predicted_rows;
        if (p[i] == t[i]) ++per_class[t[i]].tp;
    }
    std::vector<double> f1;
    for (const auto& [cls, c] : per_class) {
        // 2 TP / (2 TP + FP + FN) = 2 TP / (true rows + predicted rows); never 0 / 0 in the union
        f1.push_back(2.0 * static_cast<double>(c.tp) / static_cast<double>(c.true_rows + c.predicted_rows));
    }
    return mean_of(f1);
}

double trustworthiness(const RowMatrixD& X, const RowMatrixD& Z, const TrustworthinessOptions& options) {
    const std::int64_t n = X.rows(), k = options.k;
    if (Z.rows() != n) throw Error(fmt::format("trustworthiness: X has {} rows but Z has {}", n, Z.rows()));
    if (k < 1 || 2 * k >= n)
        throw Error(fmt::format("trustworthiness: k = {} must be at least 1 and less than n / 2 = {}", k,
                                static_cast<double>(n) / 2));
    if (!X.allFinite() || !Z.allFinite()) throw Error("trustworthiness: X or Z holds a value that is not finite");

    std::vector<std::int64_t> chunk_penalty(static_cast<std::size_t>(chunk_count(n, kRowChunk)), 0);
    parallel_for(n, kRowChunk, options.threads, [&](std::int64_t c, std::int64_t begin, std::int64_t end) {
        std::vector<double> dx(static_cast<std::size_t>(n)), dz(static_cast<std::size_t>(n));
        std::vector<std::int64_t> by_x(static_cast<std::size_t>(n - 1)), by_z(static_cast<std::size_t>(n - 1));
        std::vector<std::int64_t> rank_x(static_cast<std::size_t>(n));
        std::int64_t penalty = 0;
        for (std::int64_t i = begin; i < end; ++i) {
            std::int64_t m = 0;
            for (std::int64_t j = 0; j < n; ++j) {
                dx[j] = (X.row(i) - X.row(j)).squaredNorm();
                dz[j] = (Z.row(i) - Z.row(j)).squaredNorm();
                if (j != i) by_x[m] = by_z[m] = j, ++m; // a point is not its own neighbour
            }
            // squared distances order as distances; equal ones by index, for determinism
            std::sort(by_x.begin(), by_x.end(), [&](auto a, auto b) { return dx[a] < dx[b] || (dx[a] == dx[b] && a < b); });
            for (std::int64_t r = 0; r < n - 1; ++r) rank_x[by_x[r]] = r + 1;
            std::partial_sort(by_z.begin(), by_z.begin() + k, by_z.end(),
                              [&](auto a, auto b) { return dz[a] < dz[b] || (dz[a] == dz[b] && a < b); });
            for (std::int64_t r = 0; r < k; ++r) penalty += std::max<std::int64_t>(0, rank_x[by_z[r]] - k);
        }
        chunk_penalty[static_cast<std::size_t>(c)] = penalty;
    });
    const auto total = std::accumulate(chunk_penalty.begin(), chunk_penalty.end(), std::int64_t{0});
    const auto nd = static_cast<double>(n), kd = static_cast<double>(k);
    // sklearn's operation order, so the last bits agree
    return 1.0 - static_cast<double>(total) * (2.0 / (static_cast<double>(n * k) * (2.0 * nd - 3.0 * kd - 1.0)));
}

double trustworthiness(const RowMatrixF& X, const RowMatrixF& Z, const TrustworthinessOptions& options) {
    return trustworthiness(RowMatrixD(X.cast<double>()), RowMatrixD(Z.cast<double>()), options);
}

} // namespace scx
