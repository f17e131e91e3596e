#include "scextract/extract/panel_features.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <unordered_map>

#include <fmt/format.h>

namespace scx {

PanelMatch match_panel(const std::vector<std::string>& data_symbols, const std::vector<std::string>& panel) {
    std::unordered_map<std::string, std::int64_t> where;
    where.reserve(data_symbols.size());
    for (std::size_t j = 0; j < data_symbols.size(); ++j) where.emplace(data_symbols[j], static_cast<std::int64_t>(j));
    PanelMatch m;
    m.column.reserve(panel.size());
    for (const auto& g : panel) {
        const auto it = where.find(g);
        m.column.push_back(it == where.end() ? -1 : it->second);
        if (it == where.end()) m.missing.push_back(g);
    }
    return m;
}

std::vector<std::int64_t> panel_position_of_columns(const PanelMatch& match, std::int64_t n_cols) {
    for (auto c : match.column)
        if (c >= n_cols) throw Error(fmt::format("panel column {} outside the data's {} genes", c, n_cols));
    // the panel may not name a column twice
    std::vector<std::int64_t> panel_of(static_cast<std::size_t>(n_cols), -1);
    for (std::size_t i = 0; i < match.column.size(); ++i)
        if (match.column[i] >= 0) panel_of[match.column[i]] = static_cast<std::int64_t>(i);
    return panel_of;
}

namespace {

/// log1p(c / factor) for one row, with scanpy's arithmetic (preprocess/normalize): factor =
/// float(total) / target, c / factor, then log1p, all in float. The row's small whole counts
/// are each computed once (the same float operations as for any other value, so the same bits).
class RowLog1p {
public:
    RowLog1p(std::span<const float> vals, float target) : RowLog1p(cell_total(vals), target) {}
    /// From the row's total, cell_total()'s value (a caller that has just summed the row).
    RowLog1p(float total, float target) : factor_(total / target) {
        if (factor_ == 0.0F) factor_ = 1.0F;
    }
    float operator()(float c) {
        if (c >= 0.0F && c < static_cast<float>(kMemo) && static_cast<float>(static_cast<int>(c)) == c) {
            const int i = static_cast<int>(c);
            if (!(known_ >> i & 1U)) {
                memo_[i] = std::log1p(c / factor_);
                known_ |= std::uint64_t{1} << i;
            }
            return memo_[i];
        }
        return std::log1p(c / factor_);
    }

private:
    static constexpr int kMemo = 64;
    float factor_;
    std::uint64_t known_ = 0;
    float memo_[kMemo];
};

/// Calls @p emit(panel position, value) for each non-zero panel value of row @p r (RowLog1p's
/// arithmetic). Returns the number emitted.
template <class Emit>
std::int64_t panel_row(const CsrMatrix& counts, std::int64_t r, const std::vector<std::int64_t>& panel_of, float target,
                       Emit&& emit) {
    const auto vals = counts.row_values(r);
    const auto idx = counts.row_indices(r);
    RowLog1p log1p_of(vals, target);
    std::int64_t detected = 0;
    for (std::size_t k = 0; k < vals.size(); ++k) {
        const auto p = panel_of[idx[k]];
        if (p < 0) continue;
        const float v = log1p_of(vals[k]);
        if (v == 0.0F) continue;
        emit(p, v);
        ++detected;
    }
    return detected;
}

void check_target(double target_sum) {
    if (!std::isfinite(target_sum) || target_sum <= 0.0)
        throw Error(fmt::format("normalize_total: target_sum must be a positive finite number, got {}", target_sum));
}

} // namespace

SparsePanelExpression sparse_panel_expression(const CsrMatrix& counts, std::int64_t begin, std::int64_t end,
                                              const std::vector<std::int64_t>& panel_of, std::int64_t panel_size,
                                              double target_sum) {
    check_target(target_sum);
    if (static_cast<std::int64_t>(panel_of.size()) != counts.n_cols)
        throw Error(fmt::format("panel lookup for {} genes, the data has {}", panel_of.size(), counts.n_cols));
    const float target = static_cast<float>(target_sum);
    SparsePanelExpression out;
    out.indptr.reserve(static_cast<std::size_t>(end - begin + 1));
    out.detected_fraction.reserve(static_cast<std::size_t>(end - begin));
    // at most one panel value per stored value: sized once, trimmed at the end
    const auto stored = static_cast<std::size_t>(counts.indptr[end] - counts.indptr[begin]);
    out.position.resize(stored);
    out.value.resize(stored);
    std::int32_t* position = out.position.data();
    float* value = out.value.data();
    std::size_t w = 0;
    for (std::int64_t r = begin; r < end; ++r) {
        const auto vals = counts.row_values(r);
        const auto idx = counts.row_indices(r);
        // the row's panel values, kept in order without a branch on membership (the
        // slot written for an off-panel value is overwritten by the next one), and the row's
        // total on the way (cell_total()'s sum, in the same order)
        const std::size_t row0 = w;
        double total = 0.0;
        for (std::size_t k = 0; k < vals.size(); ++k) {
            const auto p = panel_of[idx[k]];
            position[w] = static_cast<std::int32_t>(p);
            value[w] = vals[k];
            total += static_cast<double>(vals[k]);
            w += static_cast<std::size_t>(p >= 0);
        }
        // then their log1p, dropping zeros the same way
        RowLog1p log1p_of(static_cast<float>(total), target);
        const std::size_t panel_end = w;
        w = row0;
        for (std::size_t t = row0; t < panel_end; ++t) {
            const float v = log1p_of(value[t]);
            position[w] = position[t];
            value[w] = v;
            w += static_cast<std::size_t>(v != 0.0F);
        }
        const auto detected = static_cast<std::int64_t>(w - row0);
        out.indptr.push_back(static_cast<std::int64_t>(w));
        out.detected_fraction.push_back(panel_size > 0 ? static_cast<float>(detected) / static_cast<float>(panel_size) : 0.0F);
    }
    out.position.resize(w);
    out.value.resize(w);
    return out;
}

PanelExpression panel_expression(const CsrMatrix& counts, const PanelMatch& match, const PanelExpressionOptions& options) {
    check_target(options.target_sum);
    const auto panel_of = panel_position_of_columns(match, counts.n_cols);
    const auto g = static_cast<Eigen::Index>(match.column.size());
    const float target = static_cast<float>(options.target_sum);
    PanelExpression out;
    out.x = RowMatrixF::Zero(counts.n_rows, g);
    out.detected_fraction.assign(static_cast<std::size_t>(counts.n_rows), 0.0F);
    parallel_for(counts.n_rows, 256, options.threads, [&](std::int64_t, std::int64_t b, std::int64_t e) {
        for (std::int64_t r = b; r < e; ++r) {
            const auto detected = panel_row(counts, r, panel_of, target, [&](std::int64_t p, float v) { out.x(r, p) = v; });
            out.detected_fraction[r] = g > 0 ? static_cast<float>(detected) / static_cast<float>(g) : 0.0F;
        }
    });
    return out;
}

Standardizer Standardizer::fit(const RowMatrixF& f) {
    if (f.rows() == 0) throw Error("standardiser: no rows to fit on");
    const auto n = static_cast<double>(f.rows());
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(f.cols()), sq = Eigen::VectorXd::Zero(f.cols());
    for (Eigen::Index r = 0; r < f.rows(); ++r) sum += f.row(r).transpose().cast<double>();
    const Eigen::VectorXd mean = sum / n;
    for (Eigen::Index r = 0; r < f.rows(); ++r) sq += (f.row(r).transpose().cast<double>() - mean).array().square().matrix();
    Standardizer s;
    s.mean = mean.cast<float>();
    s.sd = (sq / n).cwiseSqrt().cast<float>();
    for (Eigen::Index j = 0; j < s.sd.size(); ++j)
        if (!(s.sd(j) > 1e-12F)) s.sd(j) = 1.0F;
    return s;
}

void Standardizer::apply_in_place(RowMatrixF& f) const {
    if (f.cols() != mean.size()) throw Error(fmt::format("standardiser fitted on {} features, got {}", mean.size(), f.cols()));
    f.rowwise() -= mean.transpose();
    f.array().rowwise() /= sd.transpose().array();
}

} // namespace scx
