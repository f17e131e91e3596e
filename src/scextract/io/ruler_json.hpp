#pragma once
/// @file ruler_json.hpp
/// @brief The ruler file (format "scextract-ruler", version 1) and the default human
/// hematopoiesis ruler compiled into the binary. The format is described in docs/formats.md.
///
/// Reading checks types and references (every stage name used by root, edges, labels and
/// distances must exist) and names the file and the JSON path of the first problem;
/// the graph rules (connected, depths, label conflicts) are check_ruler()'s job.

#include "scextract/core/ruler.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace scx {

/// The "format" value of a ruler file.
inline constexpr const char* kRulerFormat = "scextract-ruler";
/// The newest ruler file version this build reads and the one it writes.
inline constexpr int kRulerFormatVersion = 1;

/// Reads a ruler file. Throws scx::Error naming @p path and the JSON path of the problem
/// (e.g. "r.json: stages[3].depth: expected an integer, got \"two\""), also for a key
/// written twice in one object.
Ruler read_ruler_json(const std::string& path);

/// Parses ruler JSON text; @p what names the source in errors (a file name).
Ruler parse_ruler_text(std::string_view text, const std::string& what);

/// Builds a Ruler from parsed JSON; @p what names the source in errors. Keys starting
/// with '_' are ignored (comments); any other unknown key is an error.
Ruler parse_ruler_json(const nlohmann::json& j, const std::string& what);
/// Same, keeping the labels in the order of the object (nlohmann::json sorts keys).
Ruler parse_ruler_json(const nlohmann::ordered_json& j, const std::string& what);

/// The ruler as JSON, keys in the documented order. Throws scx::Error when an edge or a
/// label refers to a stage index that does not exist.
nlohmann::ordered_json ruler_to_json(const Ruler& ruler);

/// Writes ruler_to_json() to @p path (2-space indent), atomically.
void write_ruler_json(const Ruler& ruler, const std::string& path);

/// The default human hematopoiesis ruler (data/rulers/hematopoiesis.json, compiled in,
/// so it needs no data files at run time). Parsed once, on first use.
const Ruler& default_hematopoiesis_ruler();

/// The text of data/rulers/hematopoiesis.json as compiled in.
std::string_view default_hematopoiesis_ruler_json();

/// A ruler as users name it: "default" is the built-in one, anything else a ruler JSON file.
Ruler load_ruler(const std::string& source);

} // namespace scx
