#include "scextract/io/vocab_json.hpp"

#include "scextract/core/error.hpp"
#include "scextract/io/json_parse.hpp"

#include <algorithm>
#include <fstream>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scx {

std::unordered_map<std::string, std::int64_t> read_vocab_json(const std::string& path) {
    const auto j =
        parse_json_bounded<nlohmann::json>(read_json_file_text(path, std::uint64_t{256} << 20, "vocabulary file"), path);
    if (!j.is_object()) throw Error(fmt::format("{}: expected a JSON object of gene symbol -> id", path));
    std::unordered_map<std::string, std::int64_t> vocab;
    std::unordered_set<std::int64_t> ids;
    vocab.reserve(j.size());
    for (const auto& [symbol, id] : j.items()) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0)
            throw Error(fmt::format("{}: id of '{}' is not a non-negative integer", path, symbol));
        const auto v = id.get<std::int64_t>();
        if (!ids.insert(v).second) throw Error(fmt::format("{}: id {} is used twice (again by '{}')", path, v, symbol));
        vocab.emplace(symbol, v);
    }
    return vocab;
}

std::vector<std::string> read_vocab_symbols_by_id(const std::string& path) {
    const auto vocab = read_vocab_json(path);
    std::vector<std::pair<std::int64_t, std::string>> by_id;
    by_id.reserve(vocab.size());
    for (const auto& [symbol, id] : vocab) by_id.emplace_back(id, symbol);
    std::sort(by_id.begin(), by_id.end());
    std::vector<std::string> out;
    out.reserve(by_id.size());
    for (auto& [_, s] : by_id) out.push_back(std::move(s));
    return out;
}

} // namespace scx
