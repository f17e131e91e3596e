// Hostile args.json, made here: deep nesting and absurd model sizes are refused before any
// weights are read or allocated, with one line naming the file and the key.

#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/model/scgpt_config.hpp"

#include "scextract/core/error.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <tuple>

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const scx::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}

nlohmann::json released_args() {
    return {{"nlayers", 12}, {"nheads", 8}, {"embsize", 512}, {"d_hid", 512}, {"n_bins", 51}, {"max_seq_len", 1200}};
}

TEST(ScGptConfigBounds, RefusesAbsurdSizesBeforeAllocating) {
    EXPECT_EQ(scx::parse_scgpt_config(released_args(), "args.json").d_model, 512);
    const std::vector<std::tuple<const char*, nlohmann::json, std::string>> cases = {
        {"embsize", 1000000000, "args.json: embsize: 1000000000 is more than 65536"},
        {"nlayers", 1LL << 40, "args.json: nlayers: 1099511627776 is more than 1024"},
        {"nheads", 100000, "args.json: nheads: 100000 is more than 1024"},
        {"d_hid", 1LL << 50, "args.json: d_hid: 1125899906842624 is more than 262144"},
        {"n_bins", 1LL << 40, "args.json: n_bins: 1099511627776 is more than 1000000"},
        {"max_seq_len", 1LL << 40, "args.json: max_seq_len: 1099511627776 is more than 1000000"},
        {"embsize", -512, "args.json: 'embsize' must be a positive integer, found number -512"},
    };
    for (const auto& [key, value, needle] : cases) {
        auto args = released_args();
        args[key] = value;
        const auto msg = error_of([&] { (void)scx::parse_scgpt_config(args, "args.json"); });
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
    // each size within its bound, together far beyond any machine: 1024 layers of 65536 x 262144
    auto big = released_args();
    big["nlayers"] = 1024;
    big["embsize"] = 65536;
    big["d_hid"] = 262144;
    big["nheads"] = 1024;
    const auto msg = error_of([&] { (void)scx::parse_scgpt_config(big, "args.json"); });
    EXPECT_NE(msg.find("args.json: nlayers 1024, embsize 65536, d_hid 262144 would need 211106.2 GB of weights"),
              std::string::npos)
        << msg;
    // a long value in a message is cut
    auto long_value = released_args();
    long_value["embsize"] = std::string(100000, 'x');
    EXPECT_LT(error_of([&] { (void)scx::parse_scgpt_config(long_value, "args.json"); }).size(), 200u);
}

TEST(ScGptConfigBounds, DeepArgsJsonIsRefusedNamingTheFile) {
    const scx::test::TempDir dir;
    const int n = 100000;
    std::string deep;
    for (int i = 0; i < n; ++i) deep += "{\"nlayers\":";
    deep += "1" + std::string(n, '}');
    const auto args = scx::test::write_text_file(dir / "args.json", deep).string();
    scx::test::write_text_file(dir / "vocab.json", "{\"<pad>\": 0}");
    scx::test::write_text_file(dir / "best_model.pt", "not read");
    const auto msg = error_of([&] { (void)scx::load_scgpt_checkpoint(dir.path().string()); });
    EXPECT_NE(msg.find(args + ": JSON nested more than 64 levels deep"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
}

} // namespace
