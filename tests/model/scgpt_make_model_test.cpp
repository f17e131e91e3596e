// make_scgpt_model(): the checkpoint directory loads with scextract's own loader and holds
// exactly the state dict init/plant built; atomic replacement; vocabularies; args.json.

#include "scextract/io/safetensors.hpp"
#include "scextract/io/torch_checkpoint.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/model/scgpt_make_model.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace {

using scx::test::error_of;
namespace fs = std::filesystem;

scx::TokenList tokens(int n_genes) {
    scx::TokenList t;
    for (int i = 0; i < n_genes; ++i) t.push_back("G" + std::to_string(i));
    t.insert(t.end(), {"<pad>", "<cls>", "<eoc>"});
    return t;
}

scx::MakeModelOptions tiny_options(const fs::path& out, bool planted) {
    scx::MakeModelOptions o;
    o.out_dir = out.string();
    o.size = scx::ScGptSize::tiny;
    o.vocab = tokens(200);
    o.seed = 11;
    if (planted) {
        o.programs = {{"A", {"G1", "G2", "G3", "G4", "G5", "G6"}}, {"B", {"G10", "G11", "G12", "G13", "G14"}}};
        o.programs_source = "test";
        o.probe.n_cells = 8;
    }
    return o;
}

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

/// No ".tmp-" / ".old-" leftovers beside the output.
void expect_no_leftovers(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
        EXPECT_EQ(name.find(".old-"), std::string::npos) << name;
    }
}

TEST(MakeModel, TokenLists) {
    scx::test::TempDir dir;
    const auto p = scx::test::write_text_file(dir / "vocab.json", R"({"B": 1, "<pad>": 2, "A": 0})");
    EXPECT_EQ(scx::read_token_list(p.string()), (scx::TokenList{"A", "B", "<pad>"}));
    const auto gap = scx::test::write_text_file(dir / "gap.json", R"({"A": 0, "B": 2})");
    EXPECT_NE(error_of([&] { scx::read_token_list(gap.string()); }).find("not 0..1"), std::string::npos);

    const scx::TokenList full = {"A", "B", "C", "D", "E", "<pad>", "<cls>"};
    EXPECT_EQ(scx::reduce_token_list(full, -1, {}), full);
    EXPECT_EQ(scx::reduce_token_list(full, 2, {}), (scx::TokenList{"A", "B", "<pad>", "<cls>"}));
    EXPECT_EQ(scx::reduce_token_list(full, 2, {"D", "Z", "A"}), (scx::TokenList{"A", "B", "D", "<pad>", "<cls>"}));
    EXPECT_EQ(scx::reduce_token_list(full, 0, {}), (scx::TokenList{"<pad>", "<cls>"}));
}

TEST(MakeModel, ArgsJsonHasWholeHumanKeys) {
    const auto c = scx::scgpt_size_config(scx::ScGptSize::small);
    const auto j = scx::synthetic_args_json(c, scx::ScGptSize::small, 5, true);
    const auto back = scx::parse_scgpt_config(j, "args");
    EXPECT_EQ(back.n_layers, c.n_layers);
    EXPECT_EQ(back.n_heads, c.n_heads);
    EXPECT_EQ(back.d_model, c.d_model);
    EXPECT_EQ(back.d_hid, c.d_hid);
    EXPECT_EQ(back.n_bins, 51);
    EXPECT_EQ(back.pad_value, -2);
    EXPECT_EQ(j.at("scextract").at("planted"), true);
    // every key of the real whole-human args.json, in its order, then "scextract"
    const fs::path real = fs::path(SCX_SHARED_DATA_DIR) / "scgpt_vocab" / "args.json";
    if (!fs::exists(real)) GTEST_SKIP() << real << " is absent";
    std::ifstream in(real);
    const auto want = nlohmann::ordered_json::parse(in);
    std::vector<std::string> want_keys, got_keys;
    for (const auto& [k, v] : want.items()) want_keys.push_back(k);
    for (const auto& [k, v] : j.items()) got_keys.push_back(k);
    want_keys.push_back("scextract");
    EXPECT_EQ(got_keys, want_keys);
    for (const char* k : {"pad_token", "input_style", "input_emb_style", "n_bins", "max_seq_len", "mask_value",
                          "pad_value", "MVC", "USE_CLS", "USE_GENERATIVE_TRAINING", "fast_transformer"})
        EXPECT_EQ(j.at(k), want.at(k)) << k;
}

TEST(MakeModel, WritesALoadableCheckpoint) {
    scx::test::TempDir dir;
    const auto out = dir / "model";
    const auto o = tiny_options(out, true);
    const auto r = scx::make_scgpt_model(o);
    EXPECT_TRUE(r.planted);
    EXPECT_EQ(r.vocab_size, 203);
    for (const char* f : {"args.json", "vocab.json", "best_model.pt", "planted.json", "PLANTED.md"})
        EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
    expect_no_leftovers(dir.path());

    const auto ck = scx::load_scgpt_checkpoint(out.string());
    EXPECT_EQ(ck.config.n_layers, 3);
    EXPECT_EQ(ck.config.d_model, 128);
    EXPECT_EQ(ck.vocab.size(), 203u);
    EXPECT_EQ(ck.vocab.at("<pad>"), 200);
    EXPECT_EQ(ck.vocab.at("G7"), 7);
    EXPECT_EQ(ck.format, "pytorch");
    EXPECT_EQ(ck.report.attention_naming, "Wqkv");

    // the file holds exactly init + plant with the same seed
    auto want = scx::init_scgpt_state_dict(r.config, 203, {o.seed, true});
    std::unordered_map<std::string, std::int64_t> vocab;
    for (std::size_t i = 0; i < o.vocab.size(); ++i) vocab.emplace(o.vocab[i], static_cast<std::int64_t>(i));
    auto plant = o.plant;
    plant.seed = o.seed;
    scx::plant_gene_programs(want, r.config, vocab, o.programs, plant);
    const auto got = scx::read_torch_checkpoint((out / "best_model.pt").string());
    ASSERT_EQ(got.tensors.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got.tensors[i].first, want[i].first);
        EXPECT_EQ(*got.tensors[i].second.storage, *want[i].second.storage) << want[i].first;
    }

    const auto pj = read_json(out / "planted.json");
    EXPECT_EQ(pj.at("heads"), nlohmann::json::array({"2:5"}));
    EXPECT_EQ(pj.at("n_programs"), 2);
    EXPECT_EQ(pj.at("modified").at(0).at("rows"), nlohmann::json::array({1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14}));
    EXPECT_EQ(pj.at("modified").at(1).at("query_rows"), nlohmann::json::array({80, 96}));
    EXPECT_EQ(pj.at("modified").at(1).at("key_rows"), nlohmann::json::array({208, 224}));
    const auto& check = pj.at("self_check");
    EXPECT_GT(check.at("planted_heads").at(0).at("share").get<double>(), 3 * check.at("chance").get<double>());
    EXPECT_LT(check.at("max_unplanted").at("share").get<double>(),
              check.at("planted_heads").at(0).at("share").get<double>());
    const auto args = read_json(out / "args.json");
    EXPECT_EQ(args.at("nlayers"), 3);
    EXPECT_EQ(args.at("scextract").at("seed"), 11);
}

TEST(MakeModel, SafetensorsFormatHoldsTheSameTensors) {
    scx::test::TempDir dir;
    auto o = tiny_options(dir / "pt", false);
    scx::make_scgpt_model(o);
    o.out_dir = (dir / "st").string();
    o.format = "safetensors";
    const auto r = scx::make_scgpt_model(o);
    EXPECT_FALSE(fs::exists(dir / "st" / "planted.json"));
    EXPECT_TRUE(fs::exists(dir / "st" / "best_model.safetensors"));
    const auto st = scx::read_safetensors(r.weights_path);
    const auto pt = scx::read_torch_checkpoint((dir / "pt" / "best_model.pt").string());
    ASSERT_EQ(st.tensors.size(), pt.tensors.size());
    for (std::size_t i = 0; i < st.tensors.size(); ++i) {
        EXPECT_EQ(st.tensors[i].first, pt.tensors[i].first);
        EXPECT_EQ(scx::tensor_contiguous_bytes(st.tensors[i].second, "st"),
                  scx::tensor_contiguous_bytes(pt.tensors[i].second, "pt"));
    }
    EXPECT_EQ(scx::load_scgpt_checkpoint((dir / "st").string()).format, "safetensors");
}

TEST(MakeModel, RefusesANonEmptyDirectoryUnlessForced) {
    scx::test::TempDir dir;
    const auto out = dir / "model";
    fs::create_directories(out);
    scx::make_scgpt_model(tiny_options(out, false)); // an empty directory is fine
    auto o = tiny_options(out, false);
    o.seed = 12;
    const auto msg = error_of([&] { scx::make_scgpt_model(o); });
    EXPECT_NE(msg.find("--force"), std::string::npos) << msg;
    scx::test::write_text_file(out / "keep.txt", "x");
    o.force = true;
    scx::make_scgpt_model(o);
    EXPECT_FALSE(fs::exists(out / "keep.txt")); // replaced as a whole
    EXPECT_EQ(read_json(out / "args.json").at("scextract").at("seed"), 12);
    expect_no_leftovers(dir.path());

    scx::test::write_text_file(dir / "file", "x");
    EXPECT_THROW(scx::make_scgpt_model(tiny_options(dir / "file", false)), scx::UsageError);
    // a failure leaves nothing behind
    auto bad = tiny_options(dir / "bad", true);
    bad.programs = {{"X", {"NOT_A_GENE"}}};
    EXPECT_NE(error_of([&] { scx::make_scgpt_model(bad); }).find("none of"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "bad"));
    expect_no_leftovers(dir.path());
    auto no_pad = tiny_options(dir / "np", false);
    no_pad.vocab = {"A", "B"};
    EXPECT_NE(error_of([&] { scx::make_scgpt_model(no_pad); }).find("pad token"), std::string::npos);
}

} // namespace
