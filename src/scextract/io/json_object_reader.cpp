#include "scextract/io/json_object_reader.hpp"

#include "scextract/core/error.hpp"

#include <fmt/format.h>

namespace scx {

JsonObjectReader::JsonObjectReader(const nlohmann::ordered_json& j, std::string where)
    : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) fail("must be an object");
}

void JsonObjectReader::fail(const std::string& what) const { throw Error(fmt::format("{}: {}", where_, what)); }

bool JsonObjectReader::has(const std::string& key) {
    seen_.insert(key);
    return j_.contains(key) && !j_.at(key).is_null();
}

const nlohmann::ordered_json& JsonObjectReader::at(const std::string& key) {
    seen_.insert(key);
    return j_.at(key);
}

std::string JsonObjectReader::string(const std::string& key, std::string fallback) {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_string()) fail(fmt::format("'{}' must be a string", key));
    return j_.at(key).get<std::string>();
}

std::int64_t JsonObjectReader::integer(const std::string& key, std::int64_t fallback) {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_number_integer()) fail(fmt::format("'{}' must be an integer", key));
    return j_.at(key).get<std::int64_t>();
}

std::int64_t JsonObjectReader::integer(const std::string& key, std::int64_t fallback, std::int64_t max) {
    const auto v = integer(key, fallback);
    if (v > max) fail(fmt::format("'{}': {} is more than {}", key, v, max));
    return v;
}

double JsonObjectReader::number(const std::string& key, double fallback) {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_number()) fail(fmt::format("'{}' must be a number", key));
    return j_.at(key).get<double>();
}

bool JsonObjectReader::boolean(const std::string& key, bool fallback) {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_boolean()) fail(fmt::format("'{}' must be true or false", key));
    return j_.at(key).get<bool>();
}

void JsonObjectReader::finish() const {
    for (const auto& [k, v] : j_.items())
        if (!seen_.contains(k)) fail(fmt::format("unknown key '{}'", k));
}

} // namespace scx
