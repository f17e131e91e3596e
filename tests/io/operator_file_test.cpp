// The operator file (io/operator_file.hpp): exact round trips of every field, the lazy
// per-head view, and the errors of a corrupt or inconsistent file.

#include "scextract/io/operator_file.hpp"
#include "scextract/io/scx_container.hpp"

#include "../support/container_bytes.hpp"
#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <utility>
#include <numeric>
#include <string>
#include <vector>

namespace {

using scx::test::edit_header;
using scx::test::error_of;
using scx::test::read_all;
using scx::test::TempDir;
using scx::test::write_all;

scx::OperatorSet sample_operators(std::int64_t layers, std::int64_t heads, std::int64_t g, bool with_counts) {
    scx::OperatorSet s;
    for (std::int64_t i = 0; i < g; ++i) {
        s.genes.push_back("G" + std::to_string(i));
        s.vocab_ids.push_back(100 + 3 * i);
    }
    s.n_layers = layers;
    s.n_heads = heads;
    for (std::int64_t k = 0; k < layers * heads; ++k) {
        scx::RowMatrixF m(g, g);
        for (std::int64_t e = 0; e < g * g; ++e) m.data()[e] = static_cast<float>(k) + static_cast<float>(e) / 1024.0F;
        s.ops.push_back(m);
    }
    if (with_counts) {
        s.cooccurrence.resize(static_cast<std::size_t>(g * g));
        std::iota(s.cooccurrence.begin(), s.cooccurrence.end(), 0);
    }
    auto& p = s.provenance;
    p.mode = with_counts ? "atlas" : "qk";
    p.cells_used = 5;
    p.cells_available = 7;
    p.cells_total = 9;
    p.seed = 18446744073709551615ULL;
    p.cell_indices = {0, 2, 3, 5, 8};
    p.tokenizer = "atlas tokens";
    p.max_tokens = 1200;
    p.target_sum = 1e4;
    p.checkpoint_path = "/models/whole_human/best_model.pt";
    p.checkpoint_sha256 = std::string(64, 'a');
    p.reference_path = "/data/ref.h5ad";
    p.reference_matrix = "X";
    p.hvg_flavor = "seurat_v3";
    p.vocab_filter = "before_hvg";
    p.panel_order = "hvg_rank";
    p.panel_requested = 1200;
    p.bias_handling = "biases";
    p.exactness = "exact";
    p.software = "scextract test";
    return s;
}

void expect_same(const scx::OperatorProvenance& a, const scx::OperatorProvenance& b, bool atlas) {
    EXPECT_EQ(a.mode, b.mode);
    if (atlas) {
        EXPECT_EQ(a.cells_used, b.cells_used);
        EXPECT_EQ(a.cells_available, b.cells_available);
        EXPECT_EQ(a.cells_total, b.cells_total);
        EXPECT_EQ(a.seed, b.seed);
        EXPECT_EQ(a.cell_indices, b.cell_indices);
        EXPECT_EQ(a.tokenizer, b.tokenizer);
        EXPECT_EQ(a.max_tokens, b.max_tokens);
    }
    EXPECT_EQ(a.target_sum, b.target_sum);
    EXPECT_EQ(a.checkpoint_path, b.checkpoint_path);
    EXPECT_EQ(a.checkpoint_sha256, b.checkpoint_sha256);
    EXPECT_EQ(a.reference_path, b.reference_path);
    EXPECT_EQ(a.reference_matrix, b.reference_matrix);
    EXPECT_EQ(a.hvg_flavor, b.hvg_flavor);
    EXPECT_EQ(a.vocab_filter, b.vocab_filter);
    EXPECT_EQ(a.panel_order, b.panel_order);
    EXPECT_EQ(a.panel_requested, b.panel_requested);
    EXPECT_EQ(a.bias_handling, b.bias_handling);
    EXPECT_EQ(a.exactness, b.exactness);
    EXPECT_EQ(a.software, b.software);
}

class OperatorFileRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(OperatorFileRoundTrip, ExactAndLazy) {
    const bool atlas = GetParam();
    TempDir dir;
    const auto set = sample_operators(3, 2, 5, atlas);
    const auto path = (dir / "ops.scxop").string();
    scx::write_operator_file(set, path);
    const auto back = scx::read_operator_file(path);
    EXPECT_EQ(back.genes, set.genes);
    EXPECT_EQ(back.vocab_ids, set.vocab_ids);
    EXPECT_EQ(back.n_layers, 3);
    EXPECT_EQ(back.n_heads, 2);
    ASSERT_EQ(back.ops.size(), 6u);
    for (std::size_t k = 0; k < 6; ++k)
        EXPECT_EQ(std::memcmp(back.ops[k].data(), set.ops[k].data(), 25 * sizeof(float)), 0) << k;
    EXPECT_EQ(back.cooccurrence, set.cooccurrence);
    expect_same(back.provenance, set.provenance, atlas);
    EXPECT_EQ(&back.op(2, 1), &back.ops[5]);

    const scx::OperatorFileView view(path);
    EXPECT_EQ(view.n_genes(), 5);
    EXPECT_EQ(view.op(1, 0), set.op(1, 0));
    EXPECT_EQ(view.op(2, 1)(4, 3), set.ops[5](4, 3));
    EXPECT_EQ(view.cooccurrence().size(), atlas ? 25u : 0u);
    EXPECT_EQ(view.metadata()["format"], "scextract-operator");
    EXPECT_NO_THROW(view.verify());
    EXPECT_NE(error_of([&] { (void)view.op(3, 0); }).find("head 3:0 is outside 3 layers x 2 heads"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)set.op(0, 2); }).find("head 0:2 is outside"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Modes, OperatorFileRoundTrip, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? std::string("atlas") : std::string("circuit"); });

TEST(OperatorFile, CorruptOperatorsAreCaughtOnFullReadAndOnVerify) {
    TempDir dir;
    const auto path = (dir / "ops.scxop").string();
    scx::write_operator_file(sample_operators(2, 2, 4, true), path);
    const std::uint64_t off = scx::ScxContainer(path).info("operators").offset;
    auto b = read_all(path);
    b[off + 100] ^= 0x40;
    write_all(path, b);
    EXPECT_NE(error_of([&] { (void)scx::read_operator_file(path); }).find("checksum mismatch in array 'operators'"),
              std::string::npos);
    const scx::OperatorFileView lazy(path); // the lazy view skips the big array's checksum ...
    EXPECT_NE(error_of([&] { lazy.verify(); }).find("checksum mismatch in array 'operators'"), std::string::npos); // ... until asked
}

TEST(OperatorFile, WriterValidatesTheSet) {
    TempDir dir;
    auto s = sample_operators(2, 2, 4, false);
    s.ops.pop_back();
    EXPECT_NE(error_of([&] { scx::write_operator_file(s, (dir / "x.scxop").string()); }).find("3 operators for 2 layers x 2 heads"),
              std::string::npos);
    s = sample_operators(2, 2, 4, false);
    s.genes.pop_back();
    EXPECT_NE(error_of([&] { scx::write_operator_file(s, (dir / "x.scxop").string()); }).find("3 gene names for 4 vocabulary ids"),
              std::string::npos);
    s = sample_operators(2, 2, 4, false);
    s.ops[1].resize(4, 3);
    EXPECT_NE(error_of([&] { scx::write_operator_file(s, (dir / "x.scxop").string()); }).find("operator 1 is 4 x 3, expected 4 x 4"),
              std::string::npos);
}

TEST(OperatorFile, MetadataProblemsAreNamed) {
    TempDir dir;
    const auto path = (dir / "ops.scxop").string();
    scx::write_operator_file(sample_operators(1, 2, 3, false), path);
    const auto good = read_all(path);
    const auto check = [&](const std::function<void(nlohmann::ordered_json&)>& edit, const std::string& want) {
        write_all(path, good);
        edit_header(path, edit);
        const auto msg = error_of([&] { scx::OperatorFileView v(path); });
        EXPECT_NE(msg.find(want), std::string::npos) << "want '" << want << "', got: " << msg;
    };
    check([](auto& j) { j["metadata"]["format_version"] = 2; }, "unsupported operator format_version 2");
    check([](auto& j) { j["metadata"]["format"] = "other"; }, "\"format\" is not \"scextract-operator\"");
    check([](auto& j) { j["metadata"]["n_heads"] = 3; }, "array 'operators' does not have shape [1, 3, 3, 3]");
    check([](auto& j) { j["metadata"]["genes"] = {"a"}; }, "1 gene names for n_genes 3");
    check([](auto& j) { j["metadata"]["provenance"]["seed"] = "x"; }, "provenance \"seed\" has the wrong type");
}

TEST(OperatorFile, WrongKind) {
    TempDir dir;
    const auto path = (dir / "algo.scx").string();
    scx::write_scx_container(path, "algorithm", {}, {});
    EXPECT_NE(error_of([&] { scx::OperatorFileView v(path); }).find("is a container of kind \"algorithm\", expected \"operator\""),
              std::string::npos);
}

} // namespace

namespace {

/// Writes @p s as an operator container the way write_operator_file() lays it out, but
/// without its checks, so the reader's own checks can be tested on correctly checksummed files.
void write_unchecked(const scx::OperatorSet& s, const std::string& path) {
    const std::int64_t g = s.n_genes();
    nlohmann::ordered_json meta{{"format", scx::kOperatorFormat}, {"format_version", scx::kOperatorFormatVersion}, {"n_layers", s.n_layers},
                                {"n_heads", s.n_heads},          {"n_genes", g},        {"genes", s.genes}};
    std::vector<scx::ContainerArrayView> arrays;
    arrays.push_back(scx::ContainerArrayView::i64("vocab_ids", {g}, s.vocab_ids));
    scx::ContainerArrayView ops{"operators", scx::ContainerDType::float32, {s.n_layers, s.n_heads, g, g}, {}};
    for (const auto& m : s.ops) ops.add_piece(std::span<const float>(m.data(), static_cast<std::size_t>(m.size())));
    arrays.push_back(std::move(ops));
    if (!s.cooccurrence.empty()) arrays.push_back(scx::ContainerArrayView::i32("cooccurrence", {g, g}, s.cooccurrence));
    scx::write_scx_container(path, scx::kOperatorKind, meta, arrays);
}

} // namespace

TEST(OperatorFile, ValuesTheAtlasCannotUseAreRefusedByWriterAndReader) {
    // issue 23, item 2: finite operators, unique panel genes, counts that are counts; the
    // writer refuses what the reader refuses, and leaves nothing behind
    TempDir dir;
    const auto cases = std::vector<std::pair<std::function<void(scx::OperatorSet&)>, std::string>>{
        {[](scx::OperatorSet& s) { s.ops[2](1, 3) = std::nanf(""); }, "operator of layer 1 head 0 holds a non-finite value"},
        {[](scx::OperatorSet& s) { s.ops[0](0, 0) = -std::numeric_limits<float>::infinity(); }, "non-finite"},
        {[](scx::OperatorSet& s) { s.genes[3] = "G1"; }, "panel gene 'G1' appears twice"},
        {[](scx::OperatorSet& s) { s.cooccurrence[5] = -2; }, "co-occurrence count -2 at entry 5 is negative"},
    };
    for (const auto& [edit, fragment] : cases) {
        auto s = sample_operators(2, 2, 4, true);
        edit(s);
        const auto out = (dir / "out.scxop").string();
        const auto msg = error_of([&] { scx::write_operator_file(s, out); });
        EXPECT_EQ(msg.rfind(out + ": ", 0), 0U) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
        EXPECT_FALSE(std::filesystem::exists(out));
        const auto bad = (dir / "bad.scxop").string();
        write_unchecked(s, bad);
        const auto read_msg = error_of([&] { (void)scx::read_operator_file(bad); });
        EXPECT_EQ(read_msg.rfind(bad + ": ", 0), 0U) << read_msg;
        EXPECT_NE(read_msg.find(fragment), std::string::npos) << read_msg;
    }
    // the unchecked writer itself makes readable files
    write_unchecked(sample_operators(2, 2, 4, true), (dir / "good.scxop").string());
    EXPECT_EQ(scx::read_operator_file((dir / "good.scxop").string()).n_genes(), 4);
}
