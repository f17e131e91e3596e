#pragma once
/// @file category_codes.hpp
/// @brief Integer codes of string categories (donors, tissues, cell-type labels), the two
/// orders the code base needs.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace scx {

/// Codes 0, 1, ... in order of first appearance (stable for a given row order; anchors and
/// the head scan group by them).
template <class T>
std::vector<std::int64_t> codes_in_order_seen(const std::vector<T>& values) {
    std::unordered_map<T, std::int64_t> seen;
    std::vector<std::int64_t> out;
    out.reserve(values.size());
    for (const auto& v : values) out.push_back(seen.emplace(v, static_cast<std::int64_t>(seen.size())).first->second);
    return out;
}

/// Codes into the sorted distinct values, which go to @p names when given (tables list
/// donors and tissues in that order).
inline std::vector<std::int64_t> codes_in_sorted_order(const std::vector<std::string>& values,
                                                       std::vector<std::string>* names = nullptr) {
    std::vector<std::string> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::map<std::string, std::int64_t> index;
    for (std::size_t i = 0; i < sorted.size(); ++i) index.emplace(sorted[i], static_cast<std::int64_t>(i));
    std::vector<std::int64_t> codes;
    codes.reserve(values.size());
    for (const auto& v : values) codes.push_back(index.at(v));
    if (names) *names = std::move(sorted);
    return codes;
}

} // namespace scx
