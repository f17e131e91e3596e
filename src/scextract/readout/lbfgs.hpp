#pragma once
/// @file lbfgs.hpp
/// @brief The L-BFGS minimiser of the logistic readouts, driven by reverse communication (as
/// scipy's L-BFGS-B Fortran code is): it says where it needs the objective next, and the
/// caller hands back the value and gradient there. Because the caller owns the evaluation,
/// several fits can share one pass over the data per round (fit_binary_readouts()).

#include "scextract/readout/more_thuente.hpp"
#include "scextract/readout/readouts.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <deque>

namespace scx {

/// The curvature pairs (s_i, y_i) of L-BFGS with rho_i = 1 / s_i.y_i, oldest first, at most
/// @p history of them.
class LbfgsMemory {
  public:
    explicit LbfgsMemory(std::int64_t history) : history_(history) {}
    [[nodiscard]] bool empty() const { return S_.empty(); }
    [[nodiscard]] const Eigen::VectorXd& newest_s() const { return S_.back(); }
    [[nodiscard]] const Eigen::VectorXd& newest_y() const { return Y_.back(); }
    void clear();
    /// Adds a pair whose s.y is @p sy, dropping the oldest beyond the history.
    void push(Eigen::VectorXd s, Eigen::VectorXd y, double sy);
    /// d = -H g by the two-loop recursion, with H0 = h0 I.
    void direction(const Eigen::VectorXd& g, double h0, Eigen::VectorXd& d) const;

  private:
    std::int64_t history_;
    std::deque<Eigen::VectorXd> S_, Y_;
    std::deque<double> rho_;
};

/// One minimisation along the path LogisticOptions::path names (tolerance, max_iterations and
/// lbfgs_history also come from the options; C and the threads do not concern it):
/// @code
///   LbfgsMinimizer m(x0, options);
///   while (!m.done()) m.tell(f(m.point()), grad f(m.point()));
/// @endcode
class LbfgsMinimizer {
  public:
    LbfgsMinimizer(Eigen::VectorXd x0, const LogisticOptions& options);

    [[nodiscard]] bool done() const { return phase_ == Phase::done; }
    /// Where the objective is needed next (meaningful while !done()).
    [[nodiscard]] const Eigen::VectorXd& point() const { return phase_ == Phase::initial ? x_ : trial_; }
    /// The objective's value @p f and gradient @p g at point().
    void tell(double f, const Eigen::VectorXd& g);
    /// The current iterate; the solution once done().
    [[nodiscard]] const Eigen::VectorXd& solution() const { return x_; }
    [[nodiscard]] const LogisticFitInfo& info() const { return info_; }

  private:
    enum class Phase { initial, search, done };
    void tell_backtracking(double f, const Eigen::VectorXd& g);
    void tell_scipy(double f, const Eigen::VectorXd& g);
    void begin_backtracking_iteration();
    void begin_scipy_iteration();
    bool refresh_memory();
    void finish();

    LogisticOptions o_;
    Phase phase_ = Phase::initial;
    Eigen::VectorXd x_, g_, trial_, d_;
    double f_ = 0;
    LbfgsMemory memory_;
    LogisticFitInfo info_;
    // backtracking path
    double step_ = 1, dg_ = 0;
    int tries_ = 0;
    // scipy path
    MoreThuenteSearch search_;
    double theta_ = 1, gd_old_ = 0;
    std::int64_t evaluations_ = 0, trials_ = 0;
};

/// Minimises @p objective(x, g) (returns f, writes the gradient into g) from @p x, which
/// receives the solution.
template <class Objective>
LogisticFitInfo minimize(Objective&& objective, Eigen::VectorXd& x, const LogisticOptions& options) {
    LbfgsMinimizer m(x, options);
    Eigen::VectorXd g(x.size());
    while (!m.done()) {
        const double f = objective(m.point(), g);
        m.tell(f, g);
    }
    x = m.solution();
    return m.info();
}

} // namespace scx
