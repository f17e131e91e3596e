#include "scextract/readout/more_thuente.hpp"

#include "scextract/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace scx {
namespace {

// The cubic's extra root term, s * sqrt((theta/s)^2 - (a/s)(b/s)), scaled to avoid overflow.
double cubic_gamma(double theta, double a, double b, bool clamp) {
    const double s = std::max({std::abs(theta), std::abs(a), std::abs(b)});
    const double disc = (theta / s) * (theta / s) - (a / s) * (b / s);
    return s * std::sqrt(clamp ? std::max(0.0, disc) : disc);
}

// One safeguarded step of the search (the paper's "updating algorithm"): given the best step
// stx, the other end of the interval sty and the trial stp with their values and derivatives,
// picks the next trial step and updates the interval.
void interval_step(double& stx, double& fx, double& dx, double& sty, double& fy, double& dy, double& stp, double fp,
                   double dp, bool& brackt, double stpmin, double stpmax) {
    const double sgnd = dp * (dx / std::abs(dx));
    double stpf = 0;
    if (fp > fx) {
        // Higher value: the minimum is bracketed. Cubic if closer to stx, else the mean of
        // the cubic and quadratic steps.
        const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        double gamma = cubic_gamma(theta, dx, dp, false);
        if (stp < stx) gamma = -gamma;
        const double p = (gamma - dx) + theta, q = ((gamma - dx) + gamma) + dp;
        const double stpc = stx + (p / q) * (stp - stx);
        const double stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx);
        stpf = std::abs(stpc - stx) < std::abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2.0;
        brackt = true;
    } else if (sgnd < 0.0) {
        // Derivatives of opposite sign: bracketed; the step farther from stp.
        const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        double gamma = cubic_gamma(theta, dx, dp, false);
        if (stp > stx) gamma = -gamma;
        const double p = (gamma - dp) + theta, q = ((gamma - dp) + gamma) + dx;
        const double stpc = stp + (p / q) * (stx - stp);
        const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
        stpf = std::abs(stpc - stp) > std::abs(stpq - stp) ? stpc : stpq;
        brackt = true;
    } else if (std::abs(dp) < std::abs(dx)) {
        // Lower value, same-sign derivative decreasing in magnitude: the cubic only if it
        // tends to infinity in the step's direction or its minimum lies beyond stp.
        const double theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
        double gamma = cubic_gamma(theta, dx, dp, true);
        if (stp > stx) gamma = -gamma;
        const double p = (gamma - dp) + theta, q = (gamma + (dx - dp)) + gamma, r = p / q;
        double stpc;
        if (r < 0.0 && gamma != 0.0) stpc = stp + r * (stx - stp);
        else if (stp > stx) stpc = stpmax;
        else stpc = stpmin;
        const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
        if (brackt) {
            stpf = std::abs(stpc - stp) < std::abs(stpq - stp) ? stpc : stpq;
            stpf = stp > stx ? std::min(stp + 0.66 * (sty - stp), stpf) : std::max(stp + 0.66 * (sty - stp), stpf);
        } else {
            stpf = std::abs(stpc - stp) > std::abs(stpq - stp) ? stpc : stpq;
            stpf = std::max(stpmin, std::min(stpmax, stpf));
        }
    } else {
        // Lower value, derivative not decreasing in magnitude: cubic towards sty if
        // bracketed, else the nearer bound.
        if (brackt) {
            const double theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp;
            double gamma = cubic_gamma(theta, dy, dp, false);
            if (stp > sty) gamma = -gamma;
            const double p = (gamma - dp) + theta, q = ((gamma - dp) + gamma) + dy;
            stpf = stp + (p / q) * (sty - stp);
        } else {
            stpf = stp > stx ? stpmax : stpmin;
        }
    }
    if (fp > fx) {
        sty = stp;
        fy = fp;
        dy = dp;
    } else {
        if (sgnd < 0.0) {
            sty = stx;
            fy = fx;
            dy = dx;
        }
        stx = stp;
        fx = fp;
        dx = dp;
    }
    stp = stpf;
}

} // namespace

void MoreThuenteSearch::start(double f0, double g0, double stp0) {
    if (!(g0 < 0.0)) throw Error(fmt::format("line search: the initial derivative {} is not negative", g0));
    if (stp0 < o_.stpmin || stp0 > o_.stpmax)
        throw Error(fmt::format("line search: the first step {} lies outside [{}, {}]", stp0, o_.stpmin, o_.stpmax));
    constexpr double kExtrapolateUpper = 4.0;
    brackt_ = false;
    stage_ = 1;
    finit_ = f0;
    ginit_ = g0;
    gtest_ = o_.ftol * g0;
    width_ = o_.stpmax - o_.stpmin;
    width1_ = width_ / 0.5;
    stx_ = sty_ = 0.0;
    fx_ = fy_ = f0;
    gx_ = gy_ = g0;
    stp_ = stp0;
    stmin_ = 0.0;
    stmax_ = stp0 + kExtrapolateUpper * stp0;
    status_ = MoreThuenteStatus::evaluate;
}

MoreThuenteStatus MoreThuenteSearch::step(double f, double g) {
    constexpr double kExtrapolateLower = 1.1, kExtrapolateUpper = 4.0;
    const double ftest = finit_ + stp_ * gtest_;
    if (stage_ == 1 && f <= ftest && g >= 0.0) stage_ = 2;

    // The warnings and the convergence test, in dcsrch's order (convergence wins).
    status_ = MoreThuenteStatus::evaluate;
    if (brackt_ && (stp_ <= stmin_ || stp_ >= stmax_)) status_ = MoreThuenteStatus::warning;
    if (brackt_ && stmax_ - stmin_ <= o_.xtol * stmax_) status_ = MoreThuenteStatus::warning;
    if (stp_ == o_.stpmax && f <= ftest && g <= gtest_) status_ = MoreThuenteStatus::warning;
    if (stp_ == o_.stpmin && (f > ftest || g >= gtest_)) status_ = MoreThuenteStatus::warning;
    if (f <= ftest && std::abs(g) <= o_.gtol * (-ginit_)) status_ = MoreThuenteStatus::converged;
    if (status_ != MoreThuenteStatus::evaluate) return status_;

    if (stage_ == 1 && f <= fx_ && f > ftest) {
        // Stage 1 with a lower but not sufficiently lower value: interpolate the modified
        // function psi(stp) = f(stp) - f(0) - ftol * stp * f'(0).
        double fm = f - stp_ * gtest_, fxm = fx_ - stx_ * gtest_, fym = fy_ - sty_ * gtest_;
        double gm = g - gtest_, gxm = gx_ - gtest_, gym = gy_ - gtest_;
        interval_step(stx_, fxm, gxm, sty_, fym, gym, stp_, fm, gm, brackt_, stmin_, stmax_);
        fx_ = fxm + stx_ * gtest_;
        fy_ = fym + sty_ * gtest_;
        gx_ = gxm + gtest_;
        gy_ = gym + gtest_;
    } else {
        interval_step(stx_, fx_, gx_, sty_, fy_, gy_, stp_, f, g, brackt_, stmin_, stmax_);
    }
    if (brackt_) {
        // Bisect when the interval did not shrink enough over two steps.
        if (std::abs(sty_ - stx_) >= 0.66 * width1_) stp_ = stx_ + 0.5 * (sty_ - stx_);
        width1_ = width_;
        width_ = std::abs(sty_ - stx_);
        stmin_ = std::min(stx_, sty_);
        stmax_ = std::max(stx_, sty_);
    } else {
        stmin_ = stp_ + kExtrapolateLower * (stp_ - stx_);
        stmax_ = stp_ + kExtrapolateUpper * (stp_ - stx_);
    }
    stp_ = std::min(std::max(stp_, o_.stpmin), o_.stpmax);
    // No progress possible: return to the best step so far.
    if ((brackt_ && (stp_ <= stmin_ || stp_ >= stmax_)) || (brackt_ && stmax_ - stmin_ <= o_.xtol * stmax_))
        stp_ = stx_;
    return status_;
}

} // namespace scx
