#pragma once
/// @file vocab_json.hpp
/// @brief scGPT's vocab.json: a JSON object mapping gene symbol -> token id.

#include <cstdint>
#include <string>
#include <unordered_map>

namespace scx {

/// Reads a vocab.json. Throws naming the file when it is not a JSON object of
/// non-negative integer ids, or when two symbols share an id.
std::unordered_map<std::string, std::int64_t> read_vocab_json(const std::string& path);

} // namespace scx
