// Hostile JSON, made here: 100,000-deep arrays and objects for every JSON reader in io/,
// oversized files, and error messages that must stay one short line whatever the value.

#include "scextract/io/gene_programs.hpp"
#include "scextract/io/json_parse.hpp"
#include "scextract/io/ruler_json.hpp"
#include "scextract/io/safetensors.hpp"
#include "scextract/io/vocab_json.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <string>

namespace {

using scx::test::error_of;

constexpr int kDeep = 100000;

std::string deep_array(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

std::string deep_object(int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "{\"a\":";
    s += "1";
    s.append(static_cast<std::size_t>(depth), '}');
    return s;
}

void write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

// safetensors: 8-byte little-endian header length, the header, no data.
void write_safetensors_header(const std::filesystem::path& p, const std::string& header) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    write(p, bytes + header);
}

void expect_one_line(const std::string& msg, const std::string& file, const std::string& problem) {
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 400u) << msg.substr(0, 400);
}

TEST(JsonParse, RefusesDeepNestingWithoutRecursing) {
    for (const auto& text : {deep_array(kDeep), deep_object(kDeep), deep_array(65)}) {
        const auto msg = error_of([&] { (void)scx::parse_json_bounded<nlohmann::json>(text, "x.json"); });
        expect_one_line(msg, "x.json: ", "JSON nested more than 64 levels deep");
        const auto omsg = error_of([&] { (void)scx::parse_json_bounded<nlohmann::ordered_json>(text, "x.json"); });
        expect_one_line(omsg, "x.json: ", "nested more than 64");
    }
    // 64 levels are fine
    EXPECT_TRUE(scx::parse_json_bounded<nlohmann::json>(deep_array(64), "x.json").is_array());
}

TEST(JsonParse, ErrorsQuoteAtMostAShortExcerpt) {
    // a megabyte string that never closes: nlohmann's message quotes all of it
    const std::string open_string = "{\"a\": \"" + std::string(1 << 20, 'x');
    expect_one_line(error_of([&] { (void)scx::parse_json_bounded<nlohmann::json>(open_string, "big.json"); }),
                    "big.json: ", "not valid JSON");
    // a value 60 levels deep (accepted by the parser) shown in a message: no recursive dump
    const auto v = scx::parse_json_bounded<nlohmann::json>(deep_array(60), "x.json");
    EXPECT_EQ(scx::json_excerpt(v), "array " + std::string(60, '[') + "...");
    EXPECT_EQ(scx::json_excerpt(nlohmann::json(std::string(1000, 'y'))), "string \"" + std::string(59, 'y') + "...");
    EXPECT_EQ(scx::json_excerpt_text(nlohmann::json::parse(R"({"a":[1,2],"b":null})")), R"({"a":[1,2],"b":null})");
    // a value built in memory 100,000 deep (not through the parser) is still shown in a line
    nlohmann::json deep = nlohmann::json::array();
    for (int i = 0; i < kDeep; ++i) {
        nlohmann::json outer = nlohmann::json::array();
        outer.push_back(std::move(deep));
        deep = std::move(outer);
    }
    EXPECT_EQ(scx::json_excerpt_text(deep).size(), 63u);
}

TEST(JsonParse, EveryReaderRefusesDeepFilesNamingThem) {
    scx::test::TempDir dir;
    const auto deep = (dir / "deep.json").string();
    const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> readers = {
        {"ruler", [](const std::string& p) { (void)scx::read_ruler_json(p); }},
        {"vocab", [](const std::string& p) { (void)scx::read_vocab_json(p); }},
        {"gene programs", [](const std::string& p) { (void)scx::read_gene_programs(p); }},
    };
    for (const auto& text : {deep_array(kDeep), deep_object(kDeep)}) {
        write(deep, text);
        for (const auto& [name, read] : readers) {
            SCOPED_TRACE(name);
            expect_one_line(error_of([&] { read(deep); }), deep + ": ", "nested more than 64 levels");
        }
        if (text[0] != '{') continue; // a safetensors header that is not an object is refused first
        const auto st = (dir / "deep.safetensors").string();
        write_safetensors_header(st, text);
        for (const auto& read : {scx::read_safetensors, scx::read_safetensors_header})
            expect_one_line(error_of([&] { (void)read(st); }), st + ": safetensors header: ", "nested more than 64");
    }
}

TEST(JsonParse, SafetensorsMessagesCutLongValues) {
    scx::test::TempDir dir;
    const auto st = (dir / "long.safetensors").string();
    // a 60-deep shape (within the depth limit) and a long metadata value of the wrong type
    write_safetensors_header(st, "{\"t\": {\"dtype\": \"F32\", \"shape\": " + deep_array(60) + ", \"data_offsets\": [0, 0]}}");
    expect_one_line(error_of([&] { (void)scx::read_safetensors(st); }), st, "shape [[[[");
    write_safetensors_header(st, "{\"__metadata__\": {\"k\": [\"" + std::string(100000, 'z') + "\"]}}");
    expect_one_line(error_of([&] { (void)scx::read_safetensors(st); }), st, "is not a string (array [\"zzz");
}

TEST(JsonParse, OversizedFilesAreRefusedBeforeReading) {
    scx::test::TempDir dir;
    const auto p = (dir / "big.json").string();
    write(p, std::string(2000, ' ') + "{}");
    expect_one_line(error_of([&] { (void)scx::read_json_file_text(p, 1000, "test file"); }), p,
                    "2002 bytes is more than a test file can be (at most 1000)");
    EXPECT_EQ(scx::read_json_file_text(p, 5000, "test file").size(), 2002u);
}

} // namespace
