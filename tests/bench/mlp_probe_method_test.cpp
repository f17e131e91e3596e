#include "scextract/bench/mlp_probe_method.hpp"

#include "scextract/model/scgpt_make_model.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"
#include "baseline_test_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace scx {
namespace {

TEST(MlpProbeMethod, EmbedsOnceAndPredictsEveryEndpoint) {
    const auto tc = test::make_baseline_test_cells(400);
    const auto& cells = tc->cells;
    test::TempDir dir;
    MakeModelOptions mo;
    mo.out_dir = (dir / "model").string();
    mo.size = ScGptSize::tiny;
    mo.vocab = cells.symbols; // G0..G47
    mo.vocab.insert(mo.vocab.end(), {"<pad>", "<cls>", "<eoc>"});
    make_scgpt_model(mo);

    MlpProbeMethodOptions o;
    o.model = mo.out_dir;
    o.probe.hidden = {32, 16};
    o.probe.epochs = 20;
    MlpProbeMethod method(o);
    EXPECT_EQ(method.info().name, "scgpt_mlp");
    EXPECT_EQ(method.info().pseudotime, PseudotimeClass::supervised);
    method.prepare(cells, 1);
    ASSERT_EQ(method.embeddings().rows(), cells.n_cells());
    EXPECT_EQ(method.embeddings().cols(), 128); // the tiny model's embsize
    const auto p = method.run_split(cells, tc->train, tc->test, 1);
    const auto n = static_cast<Eigen::Index>(tc->test.size());
    EXPECT_EQ(p.pseudotime.size(), n);
    EXPECT_EQ(p.stage.size(), tc->test.size());
    EXPECT_EQ(p.branch.size(), tc->test.size());
    ASSERT_EQ(p.binary_scores.size(), cells.binary_tasks.size());
    for (const auto& s : p.binary_scores) {
        ASSERT_EQ(s.size(), n);
        EXPECT_TRUE(((s.array() >= 0.0) && (s.array() <= 1.0)).all());
    }
    // depth: 128*32+32 + 32*16+16 + 16+1; stage 7 classes, branch 4, binaries 1 output each
    const std::int64_t body = 128 * 32 + 32 + 32 * 16 + 16;
    EXPECT_EQ(method.info().trainable_parameters, 5 * body + 17 * (1 + 7 + 4 + 2));
    // stage predictions are stages seen in training
    for (const auto s : p.stage) EXPECT_GE(s, 0);

    MlpProbeMethod again(o);
    again.prepare(cells, 2);
    EXPECT_TRUE(again.embeddings().cwiseEqual(method.embeddings()).all()) << "thread count changed the embeddings";
    EXPECT_TRUE(again.run_split(cells, tc->train, tc->test, 2).pseudotime.cwiseEqual(p.pseudotime).all());

    MlpProbeMethodOptions missing;
    missing.model = (dir / "nowhere").string();
    MlpProbeMethod bad(missing);
    EXPECT_FALSE(test::error_of([&] { bad.prepare(cells, 1); }).empty());
    EXPECT_NE(test::error_of([&] { (void)MlpProbeMethod(o).run_split(cells, tc->train, tc->test, 1); }).find("prepare()"),
              std::string::npos);
}

} // namespace
} // namespace scx
