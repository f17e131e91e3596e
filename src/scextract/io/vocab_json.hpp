#pragma once
/// @file vocab_json.hpp
/// @brief scGPT's vocab.json: a JSON object mapping gene symbol -> token id.

#include <cstdint>
#include <string>
#include <vector>
#include <unordered_map>

namespace scx {

/// Reads a vocab.json. Throws naming the file when it is not a JSON object of
/// non-negative integer ids, or when two symbols share an id.
std::unordered_map<std::string, std::int64_t> read_vocab_json(const std::string& path);

/// The symbols of a vocab.json in id order (a fixed order, so a seed alone fixes which genes a
/// simulation draws).
std::vector<std::string> read_vocab_symbols_by_id(const std::string& path);

} // namespace scx
