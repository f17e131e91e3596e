// scGPT's avg-pool compatibility mode (scgpt_avg_pool and the forward pass's padding
// state) against PyTorch: tests/fixtures/forward/<config>/avgpool_{zero,computed}.npy are
// torch.mean over the padded batch on torch's fast path (padding = 0) and on its standard
// path (padding tokens attend to the real tokens), made by make_forward_fixtures.py.

#include "scextract/core/error.hpp"
#include "scextract/model/embed.hpp"

#include "../support/forward_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct Fixture {
    scx::ScGptWeights weights;
    std::vector<scx::TokenizedCell> cells;
    std::int64_t pad_id = -1;
    float pad_value = 0;
};

/// The checkpoint variant "plain" holds the d16_h4 model; the other config has only npy weights.
Fixture load() {
    Fixture f;
    const auto ckpt = scx::load_scgpt_checkpoint(scx::test::forward_fixture_dir("checkpoints/plain").string());
    f.weights = ckpt.weights;
    f.cells = scx::test::load_forward_cells(scx::test::forward_fixture_dir("d16_h4"));
    std::ifstream in(scx::test::forward_fixture_dir("d16_h4") / "meta.json");
    const auto meta = nlohmann::json::parse(in);
    f.pad_id = meta["pad_id"];
    f.pad_value = meta["pad_value"];
    return f;
}

std::vector<std::int64_t> lengths_of(const std::vector<scx::TokenizedCell>& cells) {
    std::vector<std::int64_t> out;
    for (const auto& c : cells) out.push_back(static_cast<std::int64_t>(c.gene_ids.size()));
    return out;
}

TEST(ScGptAvgPool, MatchesTorchOnBothPaths) {
    const auto f = load();
    scx::ScGptForwardOptions o;
    o.threads = 2;
    o.batch_size = 2;
    o.want_mean = o.want_hidden = true;
    o.want_pad_state = true;
    o.pad_id = f.pad_id;
    o.pad_value = f.pad_value;
    const auto r = scx::run_scgpt_forward(f.weights, f.cells, o);
    const auto lengths = lengths_of(f.cells);
    const auto batch = static_cast<std::int64_t>(f.cells.size()); // the fixture is one padded batch
    const auto dir = scx::test::forward_fixture_dir("d16_h4");

    const auto zero = scx::scgpt_avg_pool(r.mean, lengths, nullptr, batch);
    const auto computed = scx::scgpt_avg_pool(r.mean, lengths, &r.pad_state, batch);
    const auto zero_ref = scx::read_npy(dir / "avgpool_zero.npy").to_matrix();
    const auto computed_ref = scx::read_npy(dir / "avgpool_computed.npy").to_matrix();
    const double gap_zero = (zero - zero_ref).cwiseAbs().maxCoeff();
    const double gap_computed = (computed - computed_ref).cwiseAbs().maxCoeff();
    std::cout << "avg-pool max |ours - torch|: zero padding " << gap_zero << ", computed padding " << gap_computed << "\n";
    EXPECT_LT(gap_zero, 1e-4);
    EXPECT_LT(gap_computed, 1e-4);
    // The two conventions really differ here (every cell but the longest is padded).
    EXPECT_GT((zero_ref - computed_ref).cwiseAbs().maxCoeff(), 1e-2);
    // Our own mean-pooling is neither: it ignores padding.
    EXPECT_GT((r.mean - zero_ref).cwiseAbs().maxCoeff(), 1e-2);

    // The padding query never changes the real tokens' states (up to float rounding: the
    // GEMMs see one more row, which can change OpenBLAS's blocking).
    o.want_pad_state = false;
    const auto plain = scx::run_scgpt_forward(f.weights, f.cells, o);
    for (std::size_t i = 0; i < f.cells.size(); ++i)
        EXPECT_LT((plain.hidden[i] - r.hidden[i]).cwiseAbs().maxCoeff(), 1e-5) << "cell " << i;
}

TEST(ScGptAvgPool, BatchesAreConsecutiveCells) {
    scx::RowMatrixF mean(3, 2);
    mean << 1, 2, 3, 4, 5, 6;
    scx::RowMatrixF pad = scx::RowMatrixF::Constant(3, 2, 10.0F);
    // batch size 2: {0, 1} padded to length 4, {2} alone (no padding)
    const auto out = scx::scgpt_avg_pool(mean, {4, 2, 3}, &pad, 2);
    EXPECT_FLOAT_EQ(out(0, 0), 1.0F);
    EXPECT_FLOAT_EQ(out(1, 0), (3.0F * 2 + 10.0F * 2) / 4);
    EXPECT_FLOAT_EQ(out(1, 1), (4.0F * 2 + 10.0F * 2) / 4);
    EXPECT_FLOAT_EQ(out(2, 1), 6.0F);
    const auto zero = scx::scgpt_avg_pool(mean, {4, 2, 3}, nullptr, 2);
    EXPECT_FLOAT_EQ(zero(1, 0), 3.0F * 2 / 4);
    EXPECT_THROW(scx::scgpt_avg_pool(mean, {4, 2}, nullptr, 2), scx::Error);
    EXPECT_THROW(scx::scgpt_avg_pool(mean, {4, 2, 3}, nullptr, 0), scx::Error);
}

TEST(ScGptAvgPool, PadIdMustBeInTheVocabulary) {
    const auto f = load();
    scx::ScGptForwardOptions o;
    o.want_pad_state = true;
    o.pad_id = 1000;
    EXPECT_THROW(scx::run_scgpt_forward(f.weights, f.cells, o), scx::Error);
}

} // namespace
