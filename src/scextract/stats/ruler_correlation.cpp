#include "scextract/stats/ruler_correlation.hpp"

#include "scextract/stats/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace scx {

double ruler_correlation(const Eigen::MatrixXd& z, const std::vector<std::int64_t>& stage, const Eigen::MatrixXd& dist,
                         const std::vector<char>* held) {
    std::vector<double> arc, ruler;
    const Eigen::VectorXd norms = z.rowwise().norm();
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
        for (Eigen::Index j = i + 1; j < z.rows(); ++j) {
            if (held != nullptr && !(*held)[static_cast<std::size_t>(i)] && !(*held)[static_cast<std::size_t>(j)]) continue;
            const double denom = norms(i) * norms(j);
            const double c = denom > 0 ? std::clamp(z.row(i).dot(z.row(j)) / denom, -1.0, 1.0) : 1.0;
            arc.push_back(std::acos(c));
            ruler.push_back(dist(stage[static_cast<std::size_t>(i)], stage[static_cast<std::size_t>(j)]));
        }
    }
    if (arc.size() < 2) return std::numeric_limits<double>::quiet_NaN();
    return spearman(arc, ruler);
}

Eigen::MatrixXd regress_out_groups(const Eigen::MatrixXd& z, const std::vector<std::int64_t>& donor,
                                   const std::vector<std::int64_t>& tissue) {
    const auto n = z.rows();
    const auto nd = *std::max_element(donor.begin(), donor.end()) + 1;
    const auto nt = *std::max_element(tissue.begin(), tissue.end()) + 1;
    Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, 1 + (nd - 1) + (nt - 1)); // reference level dropped
    for (Eigen::Index i = 0; i < n; ++i) {
        x(i, 0) = 1.0;
        if (donor[i] > 0) x(i, donor[i]) = 1.0;
        if (tissue[i] > 0) x(i, nd - 1 + tissue[i]) = 1.0;
    }
    const Eigen::MatrixXd beta = x.completeOrthogonalDecomposition().solve(z);
    Eigen::MatrixXd res = z - x * beta;
    res.rowwise() += z.colwise().mean();
    return res;
}

} // namespace scx
