#pragma once
/// @file json_number.hpp
/// @brief A double as a JSON value: NaN and infinities are written as null, since JSON has
/// no token for them and readers take null as "no value".

#include <nlohmann/json.hpp>

#include <cmath>

namespace scx {

/// @p v as a JSON number, or null when it is NaN or infinite. @p Json is nlohmann::json or
/// nlohmann::ordered_json.
template <class Json = nlohmann::ordered_json> [[nodiscard]] Json json_number_or_null(double v) {
    return std::isfinite(v) ? Json(v) : Json(nullptr);
}

} // namespace scx
