// Every form a user's scGPT best_model.pt may take (tests/fixtures/forward/checkpoints,
// written by torch.save() in tests/fixtures/make_forward_fixtures.py) loads through
// load_scgpt_checkpoint() and gives PyTorch's hidden states, pooled embeddings and
// attention within 1e-4, both against torch's padded batch and against each cell run alone.

#include "scextract/model/scgpt_checkpoint.hpp"

#include "../support/forward_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

fs::path variants_dir() { return scx::test::forward_fixture_dir("checkpoints"); }

nlohmann::json variants() {
    std::ifstream in(variants_dir() / "variants.json");
    return nlohmann::json::parse(in);
}

std::vector<std::string> variant_names() {
    const auto listing = variants(); // kept alive: items() refers into it
    std::vector<std::string> names;
    for (const auto& [name, _] : listing.items()) names.push_back(name);
    return names;
}

class CheckpointVariant : public ::testing::TestWithParam<std::string> {};

TEST(CheckpointVariants, EveryVariantTheIssueNamesIsPresent) {
    const auto names = variant_names();
    for (const char* v : {"plain", "in_proj", "fp16", "bf16", "float64", "views", "shared_storage", "module_prefix",
                          "wrapped_model_state_dict", "wrapped_state_dict", "extra_keys"})
        EXPECT_NE(std::find(names.begin(), names.end(), v), names.end()) << v;
}

TEST_P(CheckpointVariant, LoadsAndMatchesPyTorch) {
    const auto dir = variants_dir() / GetParam();
    const auto ref_dir = fs::weakly_canonical(dir / variants()[GetParam()]["reference"].get<std::string>());
    const auto ckpt = scx::load_scgpt_checkpoint(dir.string());
    EXPECT_EQ(ckpt.format, "pytorch");
    const auto cells = scx::test::load_forward_cells(scx::test::forward_fixture_dir("d16_h4"));

    // batch 5: the whole padded batch in one chunk; batch 1: every cell alone.
    for (const std::int64_t batch : {5, 1}) {
        scx::test::StoreAll store;
        scx::ScGptForwardOptions o;
        o.threads = 2;
        o.batch_size = batch;
        o.want_hidden = o.want_first = o.want_mean = true;
        o.visitor = &store;
        const auto r = scx::run_scgpt_forward(ckpt.weights, cells, o);
        const auto g = scx::test::torch_gaps(r, store.all(), cells, ref_dir);
        std::cout << GetParam() << " batch " << batch << ": max |ours - torch| hidden " << g.hidden << " (unpadded "
                  << g.unpadded << "), first " << g.first << ", mean " << g.mean << ", attention " << g.attention
                  << "\n";
        for (double gap : {g.hidden, g.unpadded, g.first, g.mean, g.attention}) {
            EXPECT_GE(gap, 0.0) << "an output was missing or mis-shaped";
            EXPECT_LT(gap, 1e-4);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(TorchSave, CheckpointVariant, ::testing::ValuesIn(variant_names()),
                         [](const auto& info) { return info.param; });

TEST(CheckpointVariants, ReportSaysWhatWasFound) {
    const auto in_proj = scx::load_scgpt_checkpoint((variants_dir() / "in_proj").string());
    EXPECT_EQ(in_proj.report.attention_naming, "in_proj");
    const auto plain = scx::load_scgpt_checkpoint((variants_dir() / "plain").string());
    EXPECT_EQ(plain.report.attention_naming, "Wqkv");
    EXPECT_TRUE(plain.report.unused_keys.empty());
    EXPECT_FALSE(plain.report.stripped_module_prefix);
    EXPECT_TRUE(scx::load_scgpt_checkpoint((variants_dir() / "module_prefix").string()).report.stripped_module_prefix);

    auto unused = scx::load_scgpt_checkpoint((variants_dir() / "extra_keys").string()).report.unused_keys;
    std::sort(unused.begin(), unused.end());
    const std::vector<std::string> expected = {"attention_mask_cache",    "decoder.fc.0.bias",
                                               "decoder.fc.0.weight",     "dsbn.bns.0.num_batches_tracked",
                                               "flag_encoder.weight",     "mvc_decoder.gene2query.weight",
                                               "token_counts"};
    EXPECT_EQ(unused, expected);
    const auto shared = scx::load_scgpt_checkpoint((variants_dir() / "shared_storage").string()).report.unused_keys;
    EXPECT_EQ(shared, std::vector<std::string>{"decoder.tied_embedding.weight"});
    EXPECT_EQ(plain.report.n_parameters, in_proj.report.n_parameters);
}

} // namespace
