#include "scextract/validate/head_scan.hpp"

#include "scextract/core/category_codes.hpp"
#include "scextract/core/dense.hpp"
#include "scextract/core/error.hpp"
#include "scextract/stats/ruler_correlation.hpp"
#include "scextract/stats/statistics.hpp"
#include "scextract/extract/panel_features.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

namespace scx {

HeadScanResult scan_heads(const OperatorSet& ops, const Ruler& ruler, const AlgorithmTrainingData& data,
                          const HeadScanOptions& options) {
    if (data.counts == nullptr) throw Error("scan-heads: no counts");
    const auto& counts = *data.counts;
    const auto n = counts.n_rows;
    HeadScanResult result;
    std::set<std::string> donor_set(data.donors.begin(), data.donors.end());
    if (donor_set.size() < 2) throw Error("scan-heads: needs at least two donors (one to fit, one to score)");
    std::vector<std::string> sorted(donor_set.begin(), donor_set.end());
    std::set<std::string> test(options.test_donors.begin(), options.test_donors.end());
    if (test.empty()) {
        const auto k = static_cast<std::size_t>(std::ceil(0.2 * static_cast<double>(sorted.size())));
        test.insert(sorted.end() - static_cast<std::ptrdiff_t>(k), sorted.end());
    }
    for (const auto& d : test)
        if (!donor_set.contains(d)) throw Error(fmt::format("scan-heads: test donor '{}' is not in the data", d));
    for (const auto& d : sorted) (test.contains(d) ? result.test_donors : result.train_donors).push_back(d);
    if (result.train_donors.empty()) throw Error("scan-heads: every donor is a test donor");

    const auto stage_of_cell = stages_of_labels(ruler, data.labels);
    std::vector<std::int64_t> train_rows, test_rows;
    for (std::int64_t i = 0; i < n; ++i) {
        if (stage_of_cell[i] < 0) continue;
        (test.contains(data.donors[i]) ? test_rows : train_rows).push_back(i);
    }
    if (train_rows.empty() || test_rows.empty()) throw Error("scan-heads: no labelled cells on one side of the donor split");
    const auto match = match_panel(data.symbols, ops.genes);
    const auto expr = panel_expression(counts, match, {.target_sum = options.target_sum, .threads = options.threads});
    const auto donor_code = codes_in_order_seen(data.donors);
    const auto tissue_code = codes_in_order_seen(data.tissues.empty() ? std::vector<std::string>(n) : data.tissues);
    const auto label_code = codes_in_order_seen(data.labels);
    const auto keys_of = [&](const std::vector<std::int64_t>& rows) {
        std::vector<std::vector<std::int64_t>> keys(3);
        for (auto r : rows) {
            keys[0].push_back(donor_code[r]);
            keys[1].push_back(tissue_code[r]);
            keys[2].push_back(label_code[r]);
        }
        return keys;
    };
    const auto stages_of = [&](const std::vector<std::int64_t>& rows) {
        std::vector<std::int64_t> s;
        for (auto r : rows) s.push_back(stage_of_cell[r]);
        return s;
    };
    const RowMatrixF x_train = take_rows(expr.x, train_rows), x_test = take_rows(expr.x, test_rows);
    const auto distance = ruler_distances(ruler);
    AnchorOptions anchor_options{options.min_anchor_cells, options.threads};

    const auto n_heads = ops.n_layers * ops.n_heads;
    for (std::int64_t l = 0; l < ops.n_layers; ++l) {
        for (std::int64_t h = 0; h < ops.n_heads; ++h) {
            const auto op = single_head_operator(ops, l, h, options.orientation);
            RowMatrixF f_train = op.apply(x_train, options.threads), f_test = op.apply(x_test, options.threads);
            const auto standardizer = Standardizer::fit(f_train);
            standardizer.apply_in_place(f_train);
            standardizer.apply_in_place(f_test);
            const auto train = make_anchors(f_train, stages_of(train_rows), keys_of(train_rows), anchor_options);
            const auto held = make_anchors(f_test, stages_of(test_rows), keys_of(test_rows), anchor_options);
            if (train.rows.rows() < 2) throw Error("scan-heads: fewer than two training anchors");
            if (held.rows.rows() < 3) throw Error("scan-heads: the held-out donors give fewer than three anchors");
            auto ao = options.adaptor;
            ao.threads = options.threads;
            const auto fit = fit_adaptor(train.rows, train.stage, distance, ao);
            const Eigen::MatrixXd z = fit.adaptor.encode(held.rows, options.threads).cast<double>();
            HeadScore s;
            s.layer = l;
            s.head = h;
            s.adaptor_loss = fit.final_loss;
            s.score_unadjusted = ruler_correlation(z, held.stage, distance);
            std::vector<std::int64_t> donors, tissues;
            for (const auto& k : held.keys) donors.push_back(k[0]), tissues.push_back(k[1]);
            s.score = ruler_correlation(regress_out_groups(z, codes_in_order_seen(donors), codes_in_order_seen(tissues)), held.stage, distance);
            result.heads.push_back(s);
            result.train_anchors = train.rows.rows();
            result.test_anchors = held.rows.rows();
            if (options.progress) options.progress(l * ops.n_heads + h + 1, n_heads);
        }
    }
    std::stable_sort(result.heads.begin(), result.heads.end(), [](const HeadScore& a, const HeadScore& b) {
        const double x = std::isnan(a.score) ? -2 : a.score, y = std::isnan(b.score) ? -2 : b.score;
        return x > y;
    });
    return result;
}

} // namespace scx
