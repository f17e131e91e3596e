// Applying an algorithm streamed in chunks: the same bits as the whole-matrix apply for every
// chunk size and thread count, the same numbers as the stages run one after another, chunks
// in row order, and the reader never running while the sink does. Algorithms without a dense
// block go through the folded plan (readout/apply_plan.hpp): the same properties, and the
// exact path's numbers up to rounding.

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/readout/algorithm_pipeline.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace scx {
namespace {

constexpr std::int64_t kGenes = 60;  // dataset genes g0..g59
constexpr std::int64_t kPanel = 24;  // panel: g0, g2, ..., g44 and two genes the data lacks
constexpr std::int64_t kCells = 600; // > 2 row blocks of 256, not a multiple of 256

RowMatrixF random_matrix(std::int64_t rows, std::int64_t cols, Rng& rng, float scale) {
    RowMatrixF m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = scale * static_cast<float>(rng.normal());
    return m;
}

std::vector<std::string> data_symbols() {
    std::vector<std::string> s;
    for (std::int64_t j = 0; j < kGenes; ++j) s.push_back("g" + std::to_string(j));
    return s;
}

/// Raw counts with ~30% of entries non-zero, some cells empty.
CsrMatrix counts(Rng& rng) {
    CsrMatrix m;
    m.n_rows = kCells;
    m.n_cols = kGenes;
    for (std::int64_t r = 0; r < kCells; ++r) {
        if (r % 97 != 5) {
            for (std::int32_t c = 0; c < kGenes; ++c) {
                if (rng.uniform() < 0.3) {
                    m.indices.push_back(c);
                    m.values.push_back(static_cast<float>(1 + static_cast<int>(rng.uniform() * 20)));
                }
            }
        }
        m.indptr.push_back(static_cast<std::int64_t>(m.values.size()));
    }
    return m;
}

/// An algorithm with a dense (unless @p folded), a low-rank and a sparse-factor block and
/// every readout kind.
Algorithm algorithm(Rng& rng, bool folded = false) {
    Algorithm a;
    for (std::int64_t i = 0; i < kPanel - 2; ++i) a.features.genes.push_back("g" + std::to_string(2 * i));
    a.features.genes.push_back("absent1");
    a.features.genes.push_back("absent2");
    FeatureBlock dense{"dense", FeatureBlock::Form::dense, random_matrix(kPanel, kPanel, rng, 0.3F), {}, {}, {}};
    FeatureBlock low{"low", FeatureBlock::Form::low_rank, {}, random_matrix(kPanel, 5, rng, 0.5F),
                     random_matrix(5, kPanel, rng, 0.5F), {}};
    FeatureBlock sparse{"sparse", FeatureBlock::Form::sparse_factors, {}, {}, {}, {}};
    for (int f = 0; f < 4; ++f)
        sparse.factors.push_back({{f, f + 3, f + 7}, {0.5F, -1.0F, 0.25F}, {f + 1, f + 10}, {1.0F, -0.5F}, 1.5F + f});
    if (folded) a.features.blocks = {low, sparse};
    else a.features.blocks = {dense, low, sparse};
    const auto d = a.features.n_features();
    a.feature_mean = random_matrix(d, 1, rng, 1.0F).col(0);
    a.feature_sd = (random_matrix(d, 1, rng, 1.0F).array().abs() + 0.5F).matrix().col(0);
    const std::int64_t k = 6;
    a.adaptor_W = random_matrix(k, d, rng, 0.2F);
    a.adaptor_b = random_matrix(d, 1, rng, 0.1F).col(0);
    a.readouts.push_back({"depth", "regression", random_matrix(1, k, rng, 1.0F), random_matrix(1, 1, rng, 1.0F).col(0), {}});
    a.readouts.push_back({"branch", "softmax", random_matrix(3, k, rng, 1.0F), random_matrix(3, 1, rng, 1.0F).col(0),
                          {"lymphoid", "myeloid", "erythroid"}});
    a.readouts.push_back({"stage", "softmax", random_matrix(4, k, rng, 1.0F), random_matrix(4, 1, rng, 1.0F).col(0),
                          {"s0", "s1", "s2", "s3"}});
    a.readouts.push_back({"cd4_cd8", "binary", random_matrix(1, k, rng, 1.0F), random_matrix(1, 1, rng, 1.0F).col(0),
                          {"CD4 T", "CD8 T"}});
    a.readouts.push_back({"mono_macro", "binary", random_matrix(1, k, rng, 1.0F), random_matrix(1, 1, rng, 1.0F).col(0),
                          {"monocyte", "macrophage"}});
    return a;
}

template <class A, class B> bool same_bits(const A& a, const B& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(*a.data()) * static_cast<std::size_t>(a.size())) == 0;
}

void expect_same_bits(const AlgorithmApplyResult& a, const AlgorithmApplyResult& b) {
    EXPECT_TRUE(a.latent.rows() == b.latent.rows() && same_bits(a.latent, b.latent));
    EXPECT_TRUE(same_bits(a.depth, b.depth));
    EXPECT_TRUE(same_bits(a.reconstruction_error, b.reconstruction_error));
    EXPECT_EQ(a.detected_fraction, b.detected_fraction);
    EXPECT_EQ(a.branch, b.branch);
    EXPECT_EQ(a.stage, b.stage);
    ASSERT_EQ(a.probabilities.size(), b.probabilities.size());
    for (std::size_t t = 0; t < a.probabilities.size(); ++t) {
        EXPECT_EQ(a.probabilities[t].first, b.probabilities[t].first);
        EXPECT_TRUE(same_bits(a.probabilities[t].second, b.probabilities[t].second));
    }
}

/// Gathers streamed chunks, checking they arrive in row order.
struct Gather {
    AlgorithmApplyResult all;
    std::int64_t next_row = 0;
    std::vector<std::int64_t> chunk_rows;

    void operator()(std::int64_t first, AlgorithmApplyResult& c) {
        EXPECT_EQ(first, next_row);
        const auto n = c.latent.rows();
        chunk_rows.push_back(n);
        next_row += n;
        const auto cat = [](auto& dst, const auto& src) { dst.insert(dst.end(), src.begin(), src.end()); };
        all.latent.conservativeResize(next_row, c.latent.cols());
        all.latent.bottomRows(n) = c.latent;
        const auto grow = [&](auto& v, const auto& part) {
            if (part.size() == 0) return;
            v.conservativeResize(next_row);
            v.tail(n) = part;
        };
        grow(all.depth, c.depth);
        grow(all.reconstruction_error, c.reconstruction_error);
        cat(all.detected_fraction, c.detected_fraction);
        cat(all.branch, c.branch);
        cat(all.stage, c.stage);
        if (all.probabilities.empty())
            for (const auto& [task, p] : c.probabilities) all.probabilities.emplace_back(task, Eigen::VectorXd());
        for (std::size_t t = 0; t < c.probabilities.size(); ++t) grow(all.probabilities[t].second, c.probabilities[t].second);
    }
};

struct Data {
    explicit Data(bool folded = false) : a(algorithm(rng, folded)) {}
    Rng rng{7};
    Algorithm a;
    CsrMatrix x = counts(rng);
    std::vector<std::string> symbols = data_symbols();
};

class StreamedApply : public ::testing::TestWithParam<std::tuple<std::int64_t, int, bool>> {};

TEST_P(StreamedApply, SameBitsAsTheWholeMatrix) {
    const auto [chunk, threads, folded] = GetParam();
    Data d(folded);
    AlgorithmApplyOptions one_thread;
    one_thread.threads = 1;
    const auto whole = apply_algorithm(d.a, d.x, d.symbols, one_thread);
    ASSERT_EQ(whole.latent.rows(), kCells);
    EXPECT_EQ(whole.panel.missing, (std::vector<std::string>{"absent1", "absent2"}));

    InMemoryRowReader reader(d.x);
    Gather g;
    std::int64_t checked = 0, progress = 0;
    AlgorithmApplyOptions o;
    o.chunk_rows = chunk;
    o.threads = threads;
    o.prepare_block = [&](CsrMatrix& block, std::int64_t first) {
        EXPECT_EQ(first, checked);
        checked += block.n_rows;
    };
    o.progress = [&](std::int64_t done, std::int64_t total) {
        EXPECT_EQ(total, kCells);
        EXPECT_GT(done, progress);
        progress = done;
    };
    const auto panel = apply_algorithm_streamed(d.a, reader, d.symbols, o, [&](std::int64_t f, AlgorithmApplyResult& c) { g(f, c); });
    EXPECT_EQ(panel.missing, whole.panel.missing);
    EXPECT_EQ(checked, kCells);
    EXPECT_EQ(progress, kCells);
    // chunks are whole row blocks, except the last
    const auto expected_chunk = std::min<std::int64_t>(kCells, (chunk + kApplyRowBlock - 1) / kApplyRowBlock * kApplyRowBlock);
    for (std::size_t i = 0; i + 1 < g.chunk_rows.size(); ++i) EXPECT_EQ(g.chunk_rows[i], expected_chunk);
    expect_same_bits(g.all, whole);

    // and the whole-matrix apply itself at this chunk size and thread count
    AlgorithmApplyOptions plain;
    plain.chunk_rows = chunk;
    plain.threads = threads;
    expect_same_bits(apply_algorithm(d.a, d.x, d.symbols, plain), whole);
}

INSTANTIATE_TEST_SUITE_P(ChunksAndThreads, StreamedApply,
                         ::testing::Combine(::testing::Values<std::int64_t>(1, 7, 300, kCells, 1 << 30), ::testing::Values(1, 2),
                                            ::testing::Bool()));

/// Largest |a - b| over the scale of b (its largest |value|, at least 1e-3).
template <class A, class B> double relative_gap(const A& a, const B& b) {
    const auto ad = a.template cast<double>(), bd = b.template cast<double>();
    return (ad - bd).cwiseAbs().maxCoeff() / std::max(1e-3, bd.cwiseAbs().maxCoeff());
}

TEST(FoldedPlan, MatchesTheExactFeaturesUpToRounding) {
    Data d(true);
    AlgorithmApplyOptions exact;
    exact.exact_features = true;
    exact.threads = 1;
    AlgorithmApplyOptions folded;
    folded.threads = 2;
    folded.chunk_rows = 300;
    const auto e = apply_algorithm(d.a, d.x, d.symbols, exact);
    const auto f = apply_algorithm(d.a, d.x, d.symbols, folded);
    // not the same computation: a folded result equal to the bit would mean the plan was not used
    EXPECT_FALSE(same_bits(e.latent, f.latent));
    EXPECT_LT(relative_gap(f.latent, e.latent), 1e-5);
    EXPECT_LT(relative_gap(f.depth, e.depth), 1e-5);
    EXPECT_LT(relative_gap(f.reconstruction_error, e.reconstruction_error), 1e-5);
    for (std::size_t t = 0; t < e.probabilities.size(); ++t)
        EXPECT_LT(relative_gap(f.probabilities[t].second, e.probabilities[t].second), 1e-5);
    EXPECT_EQ(f.detected_fraction, e.detected_fraction);
    // classes may flip only on near-ties
    std::int64_t agree = 0;
    for (std::int64_t i = 0; i < kCells; ++i) agree += (f.branch[i] == e.branch[i]) + (f.stage[i] == e.stage[i]);
    EXPECT_GE(agree, 2 * kCells - 2);
    // a cell with no counts sits at the constant part of the plan
    EXPECT_LT(relative_gap(f.latent.row(5), e.latent.row(5)), 1e-5);
}

TEST(Apply, MatchesTheStagesRunInTurn) {
    Data d;
    AlgorithmApplyOptions two_threads;
    two_threads.threads = 2;
    const auto r = apply_algorithm(d.a, d.x, d.symbols, two_threads);
    // the stages on all cells at once, as fit runs them
    const auto match = match_panel(d.symbols, d.a.features.genes);
    const auto expr = panel_expression(d.x, match, {.target_sum = d.a.target_sum, .threads = 1});
    RowMatrixF f = d.a.features.apply(expr.x, 1);
    Standardizer{d.a.feature_mean, d.a.feature_sd}.apply_in_place(f);
    const RowMatrixD z = ((f.rowwise() - d.a.adaptor_b.transpose()) * d.a.adaptor_W.transpose()).cast<double>();
    EXPECT_LT((r.latent.cast<double>() - z).cwiseAbs().maxCoeff(), 1e-4 * (1.0 + z.cwiseAbs().maxCoeff()));
    EXPECT_EQ(r.detected_fraction, expr.detected_fraction);
    const auto logits = [&](const AlgorithmReadout& ro) -> RowMatrixD {
        RowMatrixD o = z * ro.W.cast<double>().transpose();
        o.rowwise() += ro.b.cast<double>().transpose();
        return o;
    };
    const auto depth = logits(d.a.readouts[0]);
    EXPECT_LT((r.depth - depth.col(0)).cwiseAbs().maxCoeff(), 1e-3);
    const auto p = logits(d.a.readouts[3]);
    for (std::int64_t i = 0; i < kCells; ++i) EXPECT_NEAR(r.probabilities[0].second(i), 1.0 / (1.0 + std::exp(-p(i, 0))), 1e-4);
    const auto branch = logits(d.a.readouts[1]);
    std::int64_t agree = 0;
    for (std::int64_t i = 0; i < kCells; ++i) {
        Eigen::Index best = 0;
        branch.row(i).maxCoeff(&best);
        agree += r.branch[i] == d.a.readouts[1].classes[best];
    }
    EXPECT_GE(agree, kCells - 2); // only near-ties may flip between float and double
    EXPECT_EQ(r.probabilities[1].first, "mono_macro");
    EXPECT_EQ(r.branch.size(), static_cast<std::size_t>(kCells));
    EXPECT_EQ(r.stage.size(), static_cast<std::size_t>(kCells));
}

/// A reader that notes when it is inside read_rows().
class WatchedReader final : public RowBlockReader {
public:
    explicit WatchedReader(const CsrMatrix& m) : inner_(m) {}
    [[nodiscard]] std::int64_t n_rows() const override { return inner_.n_rows(); }
    [[nodiscard]] std::int64_t n_cols() const override { return inner_.n_cols(); }
    CsrMatrix read_rows(std::int64_t begin, std::int64_t end) override {
        reading = true;
        auto block = inner_.read_rows(begin, end);
        reading = false;
        if (begin >= fail_from) throw Error("disk on fire");
        return block;
    }
    std::atomic<bool> reading{false};
    std::int64_t fail_from = 1 << 30;

private:
    InMemoryRowReader inner_;
};

TEST(StreamedApplyErrors, ReaderAndSinkNeverOverlapAndErrorsStopTheStream) {
    Data d;
    WatchedReader reader(d.x);
    AlgorithmApplyOptions o;
    o.chunk_rows = 256;
    int chunks = 0;
    apply_algorithm_streamed(d.a, reader, d.symbols, o, [&](std::int64_t, AlgorithmApplyResult&) {
        EXPECT_FALSE(reader.reading.load());
        ++chunks;
    });
    EXPECT_EQ(chunks, 3);

    reader.fail_from = 512; // the third chunk cannot be read
    chunks = 0;
    EXPECT_THROW(apply_algorithm_streamed(d.a, reader, d.symbols, o, [&](std::int64_t, AlgorithmApplyResult&) { ++chunks; }),
                 Error);
    EXPECT_EQ(chunks, 1); // the second chunk's outputs wait for the third chunk's read, which failed

    o.prepare_block = [](CsrMatrix&, std::int64_t first) {
        if (first > 0) throw Error("not counts");
    };
    reader.fail_from = 1 << 30;
    chunks = 0;
    EXPECT_THROW(apply_algorithm_streamed(d.a, reader, d.symbols, o, [&](std::int64_t, AlgorithmApplyResult&) { ++chunks; }),
                 Error);
    EXPECT_EQ(chunks, 1);
}

TEST(StreamedApplyErrors, RefusesBadInput) {
    Data d;
    InMemoryRowReader reader(d.x);
    const auto sink = [](std::int64_t, AlgorithmApplyResult&) {};
    auto fewer = d.symbols;
    fewer.pop_back();
    EXPECT_THROW(apply_algorithm_streamed(d.a, reader, fewer, {}, sink), Error);
    AlgorithmApplyOptions o;
    o.chunk_rows = 0;
    EXPECT_THROW(apply_algorithm_streamed(d.a, reader, d.symbols, o, sink), Error);
    o.chunk_rows = 100;
    o.max_missing_fraction = 0.05; // 2 of 24 panel genes are absent
    EXPECT_THROW(apply_algorithm_streamed(d.a, reader, d.symbols, o, sink), Error);
    EXPECT_THROW(match_algorithm_panel(d.a, d.symbols, o), Error);
}

TEST(StreamedApply, NoCells) {
    Data d;
    CsrMatrix empty;
    empty.n_cols = kGenes;
    const auto r = apply_algorithm(d.a, empty, d.symbols, {});
    EXPECT_EQ(r.latent.rows(), 0);
    EXPECT_EQ(r.latent.cols(), 6);
}

} // namespace
} // namespace scx
