#pragma once
// What the report tests share: the committed example results, a substring count and an element's text.

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

/// The text of the element that starts at `<tag id="id"` up to its closing tag (no nesting
/// of the same tag); "" when there is none.
inline std::string element(const std::string& html, const std::string& tag, const std::string& id) {
    const auto start = html.find("<" + tag + " id=\"" + id + "\"");
    if (start == std::string::npos) return {};
    const auto end = html.find("</" + tag + ">", start);
    return html.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

} // namespace scx::test
