// bench gives the same results at 1, 2 and 3 threads (issue 23, item 4): results.json,
// every score, comparison, prediction and figure in it, with only the timings and the
// command line set aside. A small simulated bed (made by the run itself) and the baselines
// whose fitting splits work across threads (PCA, CellTypist's SGD, the raw panel).

#include "scextract/bench.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

/// results.json without what may differ between identical runs: seconds and the command.
nlohmann::json without_timings(nlohmann::json j) {
    if (j.is_object()) {
        nlohmann::json out = nlohmann::json::object();
        for (auto& [k, v] : j.items())
            if (k.find("seconds") == std::string::npos && k != "command") out[k] = without_timings(v);
        return out;
    }
    if (j.is_array())
        for (auto& v : j) v = without_timings(v);
    return j;
}

TEST(BenchFile, SameResultsForOneTwoAndThreeThreads) {
    scx::test::TempDir dir;
    const auto config = dir.path() / "bench.json";
    std::ofstream(config) << R"({
      "data": {"simulate": {"cells": 800, "donors": 6, "genes": 500, "seed": 7},
               "label_key": "cell_type", "donor_key": "donor", "tissue_key": "tissue"},
      "ruler": "default",
      "panel": {"size": 120},
      "splits": {"n": 2, "test_donors": 2, "seed": 42},
      "reference": "raw",
      "methods": [{"type": "raw"}, {"type": "pca", "name": "pca10", "components": 10}, {"type": "celltypist"}]
    })";
    nlohmann::json first;
    for (const int threads : {1, 2, 3}) {
        scx::BenchFileOptions o;
        o.config = config.string();
        o.out = (dir.path() / ("out" + std::to_string(threads))).string();
        o.threads = threads;
        (void)scx::bench_file(o);
        std::ifstream in(std::filesystem::path(o.out) / "results.json");
        ASSERT_TRUE(in) << "no results.json in " << o.out;
        const auto results = without_timings(nlohmann::json::parse(in));
        ASSERT_FALSE(results.at("scores").empty());
        if (threads == 1) first = results;
        else EXPECT_TRUE(results == first) << threads << " threads gave other results than 1: "
                                           << nlohmann::json::diff(first, results).dump().substr(0, 2000);
    }
}

} // namespace
