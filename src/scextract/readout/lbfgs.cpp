#include "scextract/readout/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace scx {

namespace {
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr int kBacktrackingTries = 60;
constexpr double kRelativeDecrease = 64.0 * kEps;  // sklearn's ftol
constexpr std::int64_t kMaxLineSearch = 50;        // sklearn's maxls
constexpr std::int64_t kMaxEvaluations = 15000;    // scipy's maxfun
} // namespace

void LbfgsMemory::clear() {
    S_.clear();
    Y_.clear();
    rho_.clear();
}

void LbfgsMemory::push(Eigen::VectorXd s, Eigen::VectorXd y, double sy) {
    S_.push_back(std::move(s));
    Y_.push_back(std::move(y));
    rho_.push_back(1.0 / sy);
    if (static_cast<std::int64_t>(S_.size()) > history_) {
        S_.pop_front();
        Y_.pop_front();
        rho_.pop_front();
    }
}

void LbfgsMemory::direction(const Eigen::VectorXd& g, double h0, Eigen::VectorXd& d) const {
    d = -g;
    std::vector<double> alpha(S_.size());
    for (std::size_t i = S_.size(); i-- > 0;) {
        alpha[i] = rho_[i] * S_[i].dot(d);
        d -= alpha[i] * Y_[i];
    }
    d *= h0;
    for (std::size_t i = 0; i < S_.size(); ++i) {
        const double beta = rho_[i] * Y_[i].dot(d);
        d += (alpha[i] - beta) * S_[i];
    }
}

LbfgsMinimizer::LbfgsMinimizer(Eigen::VectorXd x0, const LogisticOptions& options)
    : o_(options), x_(std::move(x0)), memory_(options.lbfgs_history) {}

void LbfgsMinimizer::tell(double f, const Eigen::VectorXd& g) {
    if (phase_ == Phase::done) return;
    if (o_.path == LbfgsPath::scipy_lbfgsb) tell_scipy(f, g);
    else tell_backtracking(f, g);
}

void LbfgsMinimizer::finish() {
    info_.objective = f_;
    phase_ = Phase::done;
}

// ---------------------------------------------------------------------------------------------
// L-BFGS (Nocedal & Wright, algorithm 7.4) with a backtracking Armijo search. Near the optimum
// the objective stops changing in double precision, so a step that leaves it unchanged to
// rounding but shrinks the gradient is also accepted.

void LbfgsMinimizer::tell_backtracking(double f, const Eigen::VectorXd& g) {
    if (phase_ == Phase::initial) {
        f_ = f;
        g_ = g;
        begin_backtracking_iteration();
        return;
    }
    bool accepted = false;
    if (std::isfinite(f)) {
        accepted = f <= f_ + 1e-4 * step_ * dg_ ||
                   (std::abs(f - f_) <= 8.0 * kEps * std::abs(f_) && g.cwiseAbs().maxCoeff() < g_.cwiseAbs().maxCoeff());
    }
    if (accepted) {
        Eigen::VectorXd s = trial_ - x_, yv = g - g_;
        const double sy = s.dot(yv);
        if (sy > kEps * yv.squaredNorm()) memory_.push(std::move(s), std::move(yv), sy);
        x_.swap(trial_);
        g_ = g;
        f_ = f;
        begin_backtracking_iteration();
        return;
    }
    ++tries_;
    step_ *= 0.5;
    if (tries_ >= kBacktrackingTries) { // no progress possible in double precision
        finish();
        return;
    }
    trial_ = x_ + step_ * d_;
}

void LbfgsMinimizer::begin_backtracking_iteration() {
    info_.gradient_norm = g_.cwiseAbs().maxCoeff();
    if (info_.gradient_norm <= o_.tolerance) {
        info_.converged = true;
        finish();
        return;
    }
    if (info_.iterations >= o_.max_iterations) {
        finish();
        return;
    }
    ++info_.iterations;
    if (memory_.empty())
        d_ = -g_ / std::max(1.0, g_.norm()); // first step: at most unit length
    else
        memory_.direction(g_, memory_.newest_s().dot(memory_.newest_y()) / memory_.newest_y().squaredNorm(), d_);
    dg_ = d_.dot(g_);
    if (!(dg_ < 0.0)) { // not a descent direction: restart from steepest descent
        memory_.clear();
        d_ = -g_ / std::max(1.0, g_.norm());
        dg_ = d_.dot(g_);
    }
    step_ = 1.0;
    tries_ = 0;
    trial_ = x_ + step_ * d_;
    phase_ = Phase::search;
}

// ---------------------------------------------------------------------------------------------
// scipy's L-BFGS-B on an unbounded problem, as scikit-learn calls it (LbfgsPath::scipy_lbfgsb).
// Without bounds its generalized Cauchy point and subspace minimisation reduce to the L-BFGS
// step -H g with H0 = 1 / theta, theta = y.y / s.y of the newest pair (1 with no pairs), which
// the two-loop recursion computes.

// After an ascent direction or a failed line search: drop the memory and retry, or stop when
// there is none to drop.
bool LbfgsMinimizer::refresh_memory() {
    if (memory_.empty()) return false;
    memory_.clear();
    theta_ = 1.0;
    return true;
}

void LbfgsMinimizer::tell_scipy(double f, const Eigen::VectorXd& g) {
    ++evaluations_;
    if (phase_ == Phase::initial) {
        f_ = f;
        g_ = g;
        info_.gradient_norm = g_.cwiseAbs().maxCoeff();
        if (info_.gradient_norm <= o_.tolerance) {
            info_.converged = true;
            finish();
            return;
        }
        begin_scipy_iteration();
        return;
    }
    ++trials_;
    const double gd = g.dot(d_);
    if (search_.step(f, gd) == MoreThuenteStatus::evaluate) {
        if (trials_ < kMaxLineSearch) {
            trial_ = x_ + search_.next_step() * d_;
            return;
        }
        // failed search: the iterate stays where it was
        if (!refresh_memory()) finish();
        else begin_scipy_iteration();
        return;
    }
    const double stp = search_.next_step(), f_old = f_;
    Eigen::VectorXd y = g - g_;
    x_.swap(trial_);
    g_ = g;
    f_ = f;
    ++info_.iterations;
    info_.gradient_norm = g_.cwiseAbs().maxCoeff();
    if (info_.iterations >= o_.max_iterations || evaluations_ > kMaxEvaluations) {
        finish();
        return;
    }
    if (info_.gradient_norm <= o_.tolerance) {
        info_.converged = true;
        finish();
        return;
    }
    if (f_old - f_ <= kRelativeDecrease * std::max({std::abs(f_old), std::abs(f_), 1.0})) {
        info_.converged = true; // scipy's "relative reduction of f": success for sklearn
        finish();
        return;
    }
    // The new pair, with s.y from the directional derivatives as L-BFGS-B forms it.
    const double yy = y.squaredNorm();
    double sy = 0, curvature_floor = 0;
    if (stp == 1.0) {
        sy = gd - gd_old_;
        curvature_floor = -gd_old_;
    } else {
        sy = (gd - gd_old_) * stp;
        d_ *= stp;
        curvature_floor = -gd_old_ * stp;
    }
    if (sy > kEps * curvature_floor) { // else the update is skipped
        memory_.push(d_, std::move(y), sy);
        theta_ = yy / sy;
    }
    begin_scipy_iteration();
}

void LbfgsMinimizer::begin_scipy_iteration() {
    while (true) {
        if (memory_.empty()) d_ = -g_ / theta_;
        else memory_.direction(g_, 1.0 / theta_, d_);
        gd_old_ = g_.dot(d_);
        if (gd_old_ < 0.0) break;
        if (!refresh_memory()) {
            finish();
            return;
        }
    }
    const double stp0 = info_.iterations == 0 ? std::min(1.0 / d_.norm(), 1e10) : 1.0;
    search_.start(f_, gd_old_, stp0);
    trials_ = 0;
    trial_ = x_ + search_.next_step() * d_;
    phase_ = Phase::search;
}

} // namespace scx
