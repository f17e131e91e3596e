#pragma once
/// @file json_object_reader.hpp
/// @brief Typed values from one JSON object of a config file. Every error names where the
/// object is (file and JSON path), and a key nobody asked about is refused, so a misspelt
/// option is an error rather than a silent default.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace scx {

class JsonObjectReader {
public:
    /// @p where starts every message, e.g. "bench.json: $.methods[0] ('pca10')". Throws
    /// scx::Error "<where>: must be an object" when @p j is not one.
    JsonObjectReader(const nlohmann::ordered_json& j, std::string where);

    /// Throws scx::Error "<where>: <what>".
    [[noreturn]] void fail(const std::string& what) const;
    /// True when @p key is present and not null; either way the key counts as read.
    bool has(const std::string& key);
    /// The value of @p key (which must be present), marked as read.
    const nlohmann::ordered_json& at(const std::string& key);

    /// The value of @p key, or @p fallback when absent or null; a value of another type is an error.
    std::string string(const std::string& key, std::string fallback);
    std::int64_t integer(const std::string& key, std::int64_t fallback);
    /// The same, refusing a value above @p max ("'<key>': N is more than <max>"): a plausibility
    /// bound, so that a typo or a hostile config fails before any work.
    std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t max);
    double number(const std::string& key, double fallback);
    bool boolean(const std::string& key, bool fallback);

    /// Throws on the first key that was never read.
    void finish() const;

private:
    const nlohmann::ordered_json& j_;
    std::string where_;
    std::set<std::string> seen_;
};

} // namespace scx
