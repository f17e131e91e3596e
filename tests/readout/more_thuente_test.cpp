#include "scextract/readout/more_thuente.hpp"

#include "scextract/core/error.hpp"

#include "../support/json_fixture.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>

namespace scx {
namespace {

struct Function {
    std::function<double(double)> f, g;
};

// The functions of tests/fixtures/readout/make_line_search_fixtures.py.
const std::map<std::string, Function>& functions() {
    static const std::map<std::string, Function> fs{
        {"mt1", {[](double a) { return -a / (a * a + 2.0); },
                 [](double a) { return (a * a - 2.0) / ((a * a + 2.0) * (a * a + 2.0)); }}},
        {"mt2", {[](double a) { return std::pow(a + 0.004, 5) - 2.0 * std::pow(a + 0.004, 4); },
                 [](double a) { return 5.0 * std::pow(a + 0.004, 4) - 8.0 * std::pow(a + 0.004, 3); }}},
        {"quadratic", {[](double a) { return (a - 3.0) * (a - 3.0); }, [](double a) { return 2.0 * (a - 3.0); }}},
        {"wiggly", {[](double a) { return -a - 0.3 * std::sin(8.0 * a) + 0.05 * a * a; },
                    [](double a) { return -1.0 - 2.4 * std::cos(8.0 * a) + 0.1 * a; }}},
    };
    return fs;
}

TEST(MoreThuente, TakesScipysTrialSteps) {
    const auto& ref = test::load_json_fixture("readout/more_thuente_reference.json");
    int checked = 0;
    for (const auto& c : ref.at("cases")) {
        const auto& fn = functions().at(c.at("function").get<std::string>());
        MoreThuenteOptions o;
        o.ftol = c.at("ftol").get<double>();
        o.gtol = c.at("gtol").get<double>();
        o.xtol = c.at("xtol").get<double>();
        o.stpmax = c.at("stpmax").get<double>();
        MoreThuenteSearch search(o);
        search.start(fn.f(0.0), fn.g(0.0), c.at("stp0").get<double>());
        const auto trials = c.at("trials").get<std::vector<double>>();
        const std::string what = c.dump();
        MoreThuenteStatus status = MoreThuenteStatus::evaluate;
        std::size_t i = 0;
        for (; i < trials.size() && status == MoreThuenteStatus::evaluate; ++i) {
            const double stp = search.next_step();
            ASSERT_NEAR(stp, trials[i], 1e-12 * std::max(1.0, std::abs(trials[i]))) << "trial " << i << " of " << what;
            status = search.step(fn.f(stp), fn.g(stp));
        }
        EXPECT_EQ(i, trials.size()) << what;
        const auto task = c.at("task").get<std::string>();
        EXPECT_EQ(status, task == "CONV" ? MoreThuenteStatus::converged : MoreThuenteStatus::warning) << what;
        if (task == "CONV") EXPECT_NEAR(search.next_step(), c.at("stp").get<double>(), 1e-12 * std::max(1.0, c.at("stp").get<double>()));
        ++checked;
    }
    EXPECT_EQ(checked, 60);
}

TEST(MoreThuente, ConvergedStepSatisfiesStrongWolfe) {
    const auto& fn = functions().at("mt1");
    MoreThuenteSearch search({.ftol = 1e-3, .gtol = 0.1});
    const double f0 = fn.f(0.0), g0 = fn.g(0.0);
    search.start(f0, g0, 1e-3);
    while (search.status() == MoreThuenteStatus::evaluate) search.step(fn.f(search.next_step()), fn.g(search.next_step()));
    ASSERT_EQ(search.status(), MoreThuenteStatus::converged);
    const double a = search.next_step();
    EXPECT_LE(fn.f(a), f0 + 1e-3 * a * g0);
    EXPECT_LE(std::abs(fn.g(a)), 0.1 * std::abs(g0));
}

TEST(MoreThuente, RejectsAscentAndOutOfRangeSteps) {
    MoreThuenteSearch search;
    EXPECT_THROW(search.start(1.0, 0.5, 1.0), Error);
    EXPECT_THROW(search.start(1.0, -0.5, -1.0), Error);
    EXPECT_THROW(search.start(1.0, -0.5, 1e11), Error);
}

} // namespace
} // namespace scx
