#include "scextract/core/feature_operator.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <fmt/format.h>

namespace scx {

std::int64_t FeatureBlock::stored_values() const {
    switch (form) {
    case Form::dense: return dense.size();
    case Form::low_rank: return left.size() + right.size();
    case Form::sparse_factors: {
        std::int64_t n = 0;
        for (const auto& f : factors)
            n += 2 * static_cast<std::int64_t>(f.read_genes.size() + f.write_genes.size()) + 1;
        return n;
    }
    }
    return 0;
}

std::int64_t FeatureOperator::stored_values() const {
    std::int64_t n = 0;
    for (const auto& b : blocks) n += b.stored_values();
    return n;
}

double FeatureOperator::size_mb() const {
    double mb = 0;
    for (const auto& b : blocks) mb += b.size_mb();
    return mb;
}

namespace {

void check_block(const FeatureBlock& b, std::int64_t g) {
    const auto bad = [&](const std::string& what) {
        return Error(fmt::format("feature block '{}': {} (panel of {} genes)", b.name, what, g));
    };
    switch (b.form) {
    case FeatureBlock::Form::dense:
        if (b.dense.rows() != g || b.dense.cols() != g) throw bad(fmt::format("dense map is {} x {}", b.dense.rows(), b.dense.cols()));
        break;
    case FeatureBlock::Form::low_rank:
        if (b.left.rows() != g || b.right.cols() != g || b.left.cols() != b.right.rows())
            throw bad(fmt::format("low-rank factors are {} x {} and {} x {}", b.left.rows(), b.left.cols(),
                                  b.right.rows(), b.right.cols()));
        break;
    case FeatureBlock::Form::sparse_factors:
        for (const auto& f : b.factors) {
            if (f.read_genes.size() != f.read_weights.size() || f.write_genes.size() != f.write_weights.size())
                throw bad("a sparse factor's genes and weights differ in length");
            for (auto i : f.read_genes)
                if (i < 0 || i >= g) throw bad(fmt::format("read gene position {} out of range", i));
            for (auto i : f.write_genes)
                if (i < 0 || i >= g) throw bad(fmt::format("write gene position {} out of range", i));
        }
        break;
    }
}

} // namespace

RowMatrixF FeatureOperator::apply(const RowMatrixF& x, int threads) const {
    const auto g = n_genes();
    if (x.cols() != g) throw Error(fmt::format("features: expression has {} genes, the operator's panel {}", x.cols(), g));
    for (const auto& b : blocks) check_block(b, g);
    RowMatrixF out(x.rows(), n_features());
    // 256 rows per chunk: Eigen's products on a fixed block give the same bits whatever thread runs them
    parallel_for(x.rows(), 256, threads, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
        const auto rows = end - begin;
        const auto xb = x.middleRows(begin, rows);
        for (std::size_t k = 0; k < blocks.size(); ++k) {
            const auto& b = blocks[k];
            auto dst = out.block(begin, static_cast<Eigen::Index>(k) * g, rows, g);
            switch (b.form) {
            case FeatureBlock::Form::dense: dst.noalias() = xb * b.dense; break;
            case FeatureBlock::Form::low_rank: {
                const RowMatrixF t = xb * b.left;
                dst.noalias() = t * b.right;
                break;
            }
            case FeatureBlock::Form::sparse_factors:
                dst.setZero();
                for (const auto& f : b.factors) {
                    for (std::int64_t r = 0; r < rows; ++r) {
                        double read = 0;
                        for (std::size_t i = 0; i < f.read_genes.size(); ++i)
                            read += static_cast<double>(xb(r, f.read_genes[i])) * f.read_weights[i];
                        const auto s = static_cast<float>(read) * f.scale;
                        if (s == 0.0F) continue;
                        for (std::size_t i = 0; i < f.write_genes.size(); ++i) dst(r, f.write_genes[i]) += s * f.write_weights[i];
                    }
                }
                break;
            }
        }
    });
    return out;
}

} // namespace scx
