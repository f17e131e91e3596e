// load_scgpt_checkpoint() and summarize_checkpoint(): tiny checkpoint folders written by
// the tests (args.json, vocab.json, model.safetensors), which file is chosen, and how a
// folder whose parts do not belong together is refused.

#include "scextract/model/scgpt_checkpoint.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"
#include "../support/tiny_scgpt.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

using scx::test::error_of;
using scx::test::kVocab;
using scx::test::Options;
using scx::test::TempDir;
using scx::test::tiny_tensors;
using scx::test::write_text_file;

const char* kArgs = R"({"nlayers": 2, "nheads": 2, "embsize": 8, "d_hid": 16, "n_bins": 51,
                        "input_emb_style": "continuous", "pad_token": "<pad>", "pad_value": -2})";

/// A vocabulary of @p n tokens with the special tokens last, as whole-human's.
std::string vocab_json(std::int64_t n, bool with_pad = true, std::int64_t first_id = 0) {
    nlohmann::json v = nlohmann::json::object();
    for (std::int64_t i = 0; i < n - 3; ++i) v[std::string("G") + std::to_string(i)] = first_id + i;
    v[with_pad ? "<pad>" : "<unk>"] = first_id + n - 3;
    v["<cls>"] = first_id + n - 2;
    v["<eoc>"] = first_id + n - 1;
    return v.dump();
}

fs::path write_checkpoint(const TempDir& tmp, const Options& o = {}) {
    const auto dir = tmp / "ckpt";
    write_text_file(dir / "args.json", kArgs);
    write_text_file(dir / "vocab.json", vocab_json(kVocab));
    scx::write_safetensors((dir / "model.safetensors").string(), tiny_tensors(o), {{"format", "pt"}});
    return dir;
}

TEST(ScGptCheckpoint, LoadsAFolder) {
    const TempDir tmp;
    const auto dir = write_checkpoint(tmp, Options::with_prefix("module."));
    const auto c = scx::load_scgpt_checkpoint(dir.string());
    EXPECT_EQ(c.format, "safetensors");
    EXPECT_EQ(fs::path(c.weights_file).filename(), "model.safetensors");
    EXPECT_EQ(c.config.n_layers, 2);
    EXPECT_EQ(c.config.d_model, 8);
    EXPECT_EQ(c.vocab.size(), static_cast<std::size_t>(kVocab));
    EXPECT_EQ(c.vocab.at("<pad>"), kVocab - 3);
    EXPECT_EQ(c.weights.gene_embedding.rows(), kVocab);
    EXPECT_EQ(c.weights.layers.size(), 2u);
    EXPECT_TRUE(c.report.stripped_module_prefix);
    EXPECT_EQ(c.report.attention_naming, "Wqkv");
    EXPECT_EQ(c.report.unused_keys.size(), 3u);
}

TEST(ScGptCheckpoint, LoadsAWeightsFileWithItsNeighbours) {
    const TempDir tmp;
    const auto dir = write_checkpoint(tmp);
    const auto c = scx::load_scgpt_checkpoint((dir / "model.safetensors").string());
    EXPECT_EQ(c.weights.layers.size(), 2u);
    EXPECT_FALSE(c.report.stripped_module_prefix);
}

TEST(ScGptCheckpoint, PrefersSafetensorsOverPt) {
    const TempDir tmp;
    const auto dir = write_checkpoint(tmp);
    write_text_file(dir / "best_model.pt", "not read: the safetensors copy wins");
    const auto p = scx::locate_scgpt_checkpoint(dir.string());
    EXPECT_EQ(fs::path(p.weights).filename(), "model.safetensors");
    EXPECT_NO_THROW((void)scx::load_scgpt_checkpoint(dir.string()));

    fs::remove(dir / "model.safetensors");
    EXPECT_EQ(fs::path(scx::locate_scgpt_checkpoint(dir.string()).weights).filename(), "best_model.pt");
    fs::remove(dir / "best_model.pt");
    const auto msg = error_of([&] { (void)scx::locate_scgpt_checkpoint(dir.string()); });
    EXPECT_NE(msg.find("no weights found"), std::string::npos) << msg;
}

TEST(ScGptCheckpoint, NeedsArgsAndVocab) {
    const TempDir tmp;
    const auto dir = write_checkpoint(tmp);
    fs::remove(dir / "args.json");
    auto msg = error_of([&] { (void)scx::load_scgpt_checkpoint(dir.string()); });
    EXPECT_NE(msg.find("args.json missing"), std::string::npos) << msg;
    write_text_file(dir / "args.json", R"({"nlayers": 2})");
    msg = error_of([&] { (void)scx::load_scgpt_checkpoint(dir.string()); });
    EXPECT_NE(msg.find("args.json: missing 'nheads'"), std::string::npos) << msg;
}

TEST(ScGptCheckpoint, RefusesAVocabularyThatDoesNotFit) {
    const TempDir tmp;
    const auto dir = write_checkpoint(tmp);
    write_text_file(dir / "vocab.json", vocab_json(kVocab + 1));
    auto msg = error_of([&] { (void)scx::load_scgpt_checkpoint(dir.string()); });
    EXPECT_NE(msg.find("has 20 rows but the vocabulary has 21 tokens"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;

    write_text_file(dir / "vocab.json", vocab_json(kVocab, false));
    msg = error_of([&] { (void)scx::load_scgpt_checkpoint(dir.string()); });
    EXPECT_NE(msg.find("vocab.json: the pad token '<pad>'"), std::string::npos) << msg;

    write_text_file(dir / "vocab.json", vocab_json(kVocab, true, 5)); // ids 5..24
    msg = error_of([&] { (void)scx::load_scgpt_checkpoint(dir.string()); });
    EXPECT_NE(msg.find("outside 0..19"), std::string::npos) << msg;
}

TEST(ScGptCheckpoint, SummaryOfAFolder) {
    const TempDir tmp;
    const auto dir = write_checkpoint(tmp, Options::with_dtype(scx::TensorDType::float16));
    const auto s = scx::summarize_checkpoint(dir.string());
    EXPECT_EQ(s.at("kind"), "scgpt_checkpoint");
    EXPECT_EQ(s.at("format"), "safetensors");
    EXPECT_EQ(s.at("vocab_size"), kVocab);
    EXPECT_EQ(s.at("config").at("nlayers"), 2);
    EXPECT_EQ(s.at("dtypes").at("float16"), s.at("n_tensors"));
    EXPECT_EQ(s.at("unused_keys").size(), 3u);
    EXPECT_EQ(s.at("metadata").at("format"), "pt");
    EXPECT_GT(s.at("n_parameters_used").get<std::int64_t>(), 0);
    EXPECT_LT(s.at("n_parameters_used").get<std::int64_t>(), s.at("n_elements").get<std::int64_t>());
    const auto text = scx::format_checkpoint_summary(s);
    EXPECT_NE(text.find("scGPT checkpoint"), std::string::npos) << text;
    EXPECT_NE(text.find("unused keys (3): decoder.fc.0.weight"), std::string::npos) << text;
    EXPECT_NE(text.find("2 layers, 2 heads, embsize 8, d_hid 16"), std::string::npos) << text;
}

TEST(ScGptCheckpoint, SummaryOfABareWeightsFile) {
    const TempDir tmp;
    const auto file = tmp / "w.safetensors";
    scx::write_safetensors(file.string(), tiny_tensors());
    const auto s = scx::summarize_checkpoint(file.string());
    EXPECT_EQ(s.at("kind"), "tensor_file");
    EXPECT_FALSE(s.contains("config"));
    EXPECT_EQ(s.at("tensors").size(), tiny_tensors().size());
    EXPECT_EQ(s.at("tensors")[0].at("name"), "encoder.embedding.weight");
    EXPECT_EQ(s.at("tensors")[0].at("shape"), (std::vector<std::int64_t>{kVocab, 8}));
    const auto text = scx::format_checkpoint_summary(s);
    EXPECT_NE(text.find("encoder.embedding.weight float32 [20, 8]"), std::string::npos) << text;
}

TEST(ScGptCheckpoint, DetectsFormatsFromContent) {
    const TempDir tmp;
    const auto st = tmp / "renamed.bin";
    scx::write_safetensors(st.string(), tiny_tensors());
    EXPECT_EQ(scx::detect_tensor_file_format(st.string()), "safetensors");
    write_text_file(tmp / "zip.weights", std::string("PK\x03\x04", 4) + "rest");
    EXPECT_EQ(scx::detect_tensor_file_format((tmp / "zip.weights").string()), "pytorch");
    write_text_file(tmp / "notes.txt", "hello there, not weights");
    const auto msg = error_of([&] { (void)scx::detect_tensor_file_format((tmp / "notes.txt").string()); });
    EXPECT_NE(msg.find("notes.txt: neither a PyTorch checkpoint"), std::string::npos) << msg;
}

TEST(ScGptCheckpoint, RecognisesCheckpointPaths) {
    const TempDir tmp;
    const auto dir = write_checkpoint(tmp);
    EXPECT_TRUE(scx::is_checkpoint_path(dir.string()));
    EXPECT_TRUE(scx::is_checkpoint_path("x/best_model.pt"));
    EXPECT_TRUE(scx::is_checkpoint_path("x/model.SafeTensors"));
    EXPECT_FALSE(scx::is_checkpoint_path("x/pbmc.h5ad"));
    EXPECT_FALSE(scx::is_checkpoint_path(tmp.path().string())); // a folder without args.json
}

TEST(ScGptCheckpoint, StripsACommonPrefixOnlyWhenAllKeysHaveIt) {
    auto m = tiny_tensors(Options::with_prefix("module."));
    EXPECT_TRUE(scx::strip_common_prefix(m, "module."));
    EXPECT_EQ(m[0].first, "encoder.embedding.weight");
    m.emplace_back("module.extra", m[1].second);
    EXPECT_FALSE(scx::strip_common_prefix(m, "module."));
    EXPECT_EQ(m.back().first, "module.extra");
}

} // namespace
