#pragma once
/// @file more_thuente.hpp
/// @brief The Moré-Thuente line search (Moré & Thuente 1994, "Line search algorithms with
/// guaranteed sufficient decrease"), as MINPACK-2's dcsrch runs it inside scipy's L-BFGS-B.
///
/// It finds a step satisfying the strong Wolfe conditions
///   f(stp) <= f(0) + ftol * stp * f'(0)   and   |f'(stp)| <= gtol * |f'(0)|
/// by safeguarded cubic / quadratic interpolation. It is driven by reverse communication, as
/// dcsrch is: the caller evaluates the function where the search asks, so the search holds no
/// objective and any minimiser can use it. Written from the paper's algorithm; its decisions
/// (trial steps, brackets, the stage-1 modified function, the warnings) follow dcsrch so that
/// an L-BFGS built on it takes scipy's steps (tests/readout/more_thuente_test.cpp checks the
/// trial steps against scipy's DCSRCH).

namespace scx {

/// Parameters of a search (scipy's L-BFGS-B uses ftol 1e-3, gtol 0.9, xtol 0.1).
struct MoreThuenteOptions {
    double ftol = 1e-3;   ///< sufficient decrease
    double gtol = 0.9;    ///< curvature
    double xtol = 0.1;    ///< relative width of the bracket at which the search gives up
    double stpmin = 0.0;
    double stpmax = 1e10;
};

/// Where a search stands after a step() call.
enum class MoreThuenteStatus {
    evaluate,  ///< evaluate f and f' at next_step() and call step() again
    converged, ///< the strong Wolfe conditions hold at the last step evaluated
    warning    ///< no better step can be found (rounding, xtol, stpmax or stpmin); the last step stands
};

/// One line search. Usage: start(f0, g0, stp0); then, while status() is evaluate, evaluate
/// f and f' at next_step() and pass them to step().
class MoreThuenteSearch {
  public:
    explicit MoreThuenteSearch(const MoreThuenteOptions& options = {}) : o_(options) {}

    /// Begins a search from f(0) = @p f0, f'(0) = @p g0 (< 0) with first trial step @p stp0.
    /// Throws scx::Error when g0 >= 0 or stp0 lies outside [stpmin, stpmax].
    void start(double f0, double g0, double stp0);

    /// Takes f and f' at the step last returned by next_step(); returns the new status.
    MoreThuenteStatus step(double f, double g);

    [[nodiscard]] double next_step() const { return stp_; }
    [[nodiscard]] MoreThuenteStatus status() const { return status_; }

  private:
    MoreThuenteOptions o_;
    MoreThuenteStatus status_ = MoreThuenteStatus::evaluate;
    bool brackt_ = false;
    int stage_ = 1;
    double stp_ = 0, finit_ = 0, ginit_ = 0, gtest_ = 0, width_ = 0, width1_ = 0;
    double stx_ = 0, fx_ = 0, gx_ = 0, sty_ = 0, fy_ = 0, gy_ = 0, stmin_ = 0, stmax_ = 0;
};

} // namespace scx
