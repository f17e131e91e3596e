#pragma once
/// @file json_parse.hpp
/// @brief The one way JSON input is parsed: nesting depth and file size are bounded, and
/// parse errors and values shown in messages are cut to a few dozen characters, so a
/// hostile file gives one short line instead of a stack overflow or a megabyte message.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace scx {

/// No JSON input this project reads nests deeper than a few levels; 64 leaves room to spare.
inline constexpr int kMaxJsonDepth = 64;

/// Parses @p text. Throws scx::Error "<what>: not valid JSON (<parser message, cut>)" or
/// "<what>: JSON nested more than 64 levels deep". @p hook (optional) sees every parser
/// event, as nlohmann's parser callback does (e.g. to find duplicate keys), and must return true.
/// @p Json is nlohmann::json or nlohmann::ordered_json.
template <class Json>
Json parse_json_bounded(std::string_view text, const std::string& what,
                        const typename Json::parser_callback_t& hook = nullptr);

/// The bytes of file @p path, refused with "<path>: N bytes is more than a <kind> can be
/// (at most M)" when larger than @p max_bytes, before anything is read.
std::string read_json_file_text(const std::string& path, std::uint64_t max_bytes, const std::string& kind);

/// A value for an error message: its type and at most about 60 characters of it
/// (`array [1,2,3]`, `string "abc..."`). Never walks more than it prints, whatever the depth.
template <class Json> std::string json_excerpt(const Json& v);
/// The same without the type name: at most about 60 characters of the value's JSON text.
template <class Json> std::string json_excerpt_text(const Json& v);

} // namespace scx
