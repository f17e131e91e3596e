#include "scextract/extract/panel_features.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"
#include "scextract/preprocess/normalize.hpp"

#include <algorithm>
#include <cmath>
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

PanelExpression panel_expression(const CsrMatrix& counts, const PanelMatch& match, const PanelExpressionOptions& options) {
    for (auto c : match.column)
        if (c >= counts.n_cols) throw Error(fmt::format("panel column {} outside the data's {} genes", c, counts.n_cols));
    // dataset column -> panel position (the panel may not name a column twice)
    std::vector<std::int64_t> panel_of(static_cast<std::size_t>(counts.n_cols), -1);
    for (std::size_t i = 0; i < match.column.size(); ++i)
        if (match.column[i] >= 0) panel_of[match.column[i]] = static_cast<std::int64_t>(i);
    const auto g = static_cast<Eigen::Index>(match.column.size());
    PanelExpression out;
    out.x = RowMatrixF::Zero(counts.n_rows, g);
    out.detected_fraction.assign(static_cast<std::size_t>(counts.n_rows), 0.0F);
    // scanpy's own arithmetic (preprocess/normalize), one block of rows at a time
    constexpr std::int64_t kBlock = 4096;
    for (std::int64_t begin = 0; begin < counts.n_rows; begin += kBlock) {
        const auto end = std::min(counts.n_rows, begin + kBlock);
        CsrMatrix block = slice_rows(counts, begin, end);
        log_normalize_rows_in_place(block, options.target_sum, options.threads);
        parallel_for(end - begin, 256, options.threads, [&](std::int64_t, std::int64_t b, std::int64_t e) {
            for (std::int64_t r = b; r < e; ++r) {
                const auto vals = block.row_values(r);
                const auto idx = block.row_indices(r);
                std::int64_t detected = 0;
                for (std::size_t k = 0; k < vals.size(); ++k) {
                    const auto p = panel_of[idx[k]];
                    if (p < 0 || vals[k] == 0.0F) continue;
                    out.x(begin + r, p) = vals[k];
                    ++detected;
                }
                out.detected_fraction[begin + r] = g > 0 ? static_cast<float>(detected) / static_cast<float>(g) : 0.0F;
            }
        });
    }
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
