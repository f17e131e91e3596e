#pragma once
// What the report tests share: the committed example results and a substring count.

#include <cstddef>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace scx::test {

/// tests/fixtures/eval/bench_results_example.json (an older-format results.json, on purpose).
inline nlohmann::json example_results() {
    const std::string path = std::string(SCX_SOURCE_DIR) + "/tests/fixtures/eval/bench_results_example.json";
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    return nlohmann::json::parse(in);
}

/// Occurrences of @p needle in @p haystack, not overlapping.
inline std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + needle.size())) ++n;
    return n;
}

} // namespace scx::test
