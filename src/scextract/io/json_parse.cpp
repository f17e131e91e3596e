#include "scextract/io/json_parse.hpp"

#include "scextract/core/error.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::size_t kExcerptChars = 60;

// nlohmann's message quotes the token it last read, which may be a whole megabyte string.
std::string cut(std::string s, std::size_t n = 160) {
    if (s.size() > n) s = s.substr(0, n) + "...";
    for (auto& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

// Appends @p v to @p out until @p out holds more than kExcerptChars; recursion ends there,
// since every container level adds at least one character.
template <class Json> void excerpt(const Json& v, std::string& out) {
    if (out.size() > kExcerptChars) return;
    if (v.is_array()) {
        out += '[';
        bool first = true;
        for (const auto& item : v) {
            if (out.size() > kExcerptChars) return;
            if (!first) out += ',';
            first = false;
            excerpt(item, out);
        }
        out += ']';
    } else if (v.is_object()) {
        out += '{';
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (out.size() > kExcerptChars) return;
            if (!first) out += ',';
            first = false;
            out += Json(it.key()).dump();
            out += ':';
            excerpt(it.value(), out);
        }
        out += '}';
    } else if (v.is_string()) {
        const auto& s = v.template get_ref<const typename Json::string_t&>();
        out += Json(s.substr(0, kExcerptChars + 1)).dump(-1, ' ', false, Json::error_handler_t::replace);
    } else {
        out += v.dump();
    }
}

} // namespace

template <class Json>
Json parse_json_bounded(std::string_view text, const std::string& what, const typename Json::parser_callback_t& hook) {
    using E = nlohmann::json::parse_event_t;
    const typename Json::parser_callback_t cb = [&](int depth, E event, Json& parsed) {
        if ((event == E::object_start || event == E::array_start) && depth >= kMaxJsonDepth)
            throw Error(fmt::format("{}: JSON nested more than {} levels deep", what, kMaxJsonDepth));
        return hook ? hook(depth, event, parsed) : true;
    };
    try {
        return Json::parse(text.begin(), text.end(), cb);
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{}: not valid JSON ({})", what, cut(e.what())));
    }
}

std::string read_json_file_text(const std::string& path, std::uint64_t max_bytes, const std::string& kind) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("{}: is a directory, not a {}", path, kind));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("{}: cannot open for reading", path));
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    if (end < 0) throw Error(fmt::format("{}: cannot read", path));
    const auto size = static_cast<std::uint64_t>(end);
    if (size > max_bytes)
        throw Error(fmt::format("{}: {} bytes is more than a {} can be (at most {})", path, size, kind, max_bytes));
    in.seekg(0, std::ios::beg);
    std::string text(static_cast<std::size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    if (static_cast<std::uint64_t>(in.gcount()) != size) throw Error(fmt::format("{}: cannot read", path));
    return text;
}

template <class Json> std::string json_excerpt(const Json& v) {
    std::string out;
    excerpt(v, out);
    if (out.size() > kExcerptChars) out = out.substr(0, kExcerptChars) + "...";
    return fmt::format("{} {}", v.type_name(), out);
}

template <class Json> std::string json_excerpt_text(const Json& v) {
    std::string out;
    excerpt(v, out);
    if (out.size() > kExcerptChars) out = out.substr(0, kExcerptChars) + "...";
    return out;
}

template nlohmann::json parse_json_bounded<nlohmann::json>(std::string_view, const std::string&,
                                                            const nlohmann::json::parser_callback_t&);
template nlohmann::ordered_json parse_json_bounded<nlohmann::ordered_json>(
    std::string_view, const std::string&, const nlohmann::ordered_json::parser_callback_t&);
template std::string json_excerpt<nlohmann::json>(const nlohmann::json&);
template std::string json_excerpt<nlohmann::ordered_json>(const nlohmann::ordered_json&);
template std::string json_excerpt_text<nlohmann::json>(const nlohmann::json&);
template std::string json_excerpt_text<nlohmann::ordered_json>(const nlohmann::ordered_json&);

} // namespace scx
