#include "scextract/extract/control_operators.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/random.hpp"
#include "scextract/core/shuffle.hpp"

#include <Eigen/QR>
#include <Eigen/SVD>

#include <fmt/format.h>

#include <numeric>

namespace scx {

namespace {

/// The G x G matrix of a block, whatever its stored form.
Eigen::MatrixXd materialise(const FeatureBlock& b, std::int64_t g) {
    switch (b.form) {
    case FeatureBlock::Form::dense: return b.dense.cast<double>();
    case FeatureBlock::Form::low_rank: return b.left.cast<double>() * b.right.cast<double>();
    case FeatureBlock::Form::sparse_factors: {
        Eigen::MatrixXd m = Eigen::MatrixXd::Zero(g, g);
        for (const auto& f : b.factors)
            for (std::size_t i = 0; i < f.read_genes.size(); ++i)
                for (std::size_t j = 0; j < f.write_genes.size(); ++j)
                    m(f.read_genes[i], f.write_genes[j]) += static_cast<double>(f.scale) * f.read_weights[i] * f.write_weights[j];
        return m;
    }
    }
    throw Error("unknown feature block form");
}

/// A Haar-distributed random orthogonal n x n matrix.
Eigen::MatrixXd random_orthogonal(std::int64_t n, Rng& rng) {
    Eigen::MatrixXd gaussian(n, n);
    for (Eigen::Index j = 0; j < n; ++j)
        for (Eigen::Index i = 0; i < n; ++i) gaussian(i, j) = rng.normal();
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
    Eigen::MatrixXd q = qr.householderQ();
    const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
    // Without this sign fix Q is not Haar-distributed (Mezzadri 2007).
    for (Eigen::Index j = 0; j < n; ++j)
        if (r(j, j) < 0) q.col(j) *= -1.0;
    return q;
}

} // namespace

FeatureOperator identity_operator(const std::vector<std::string>& genes) {
    if (genes.empty()) throw Error("identity operator: empty panel");
    FeatureOperator op;
    op.genes = genes;
    const auto g = static_cast<Eigen::Index>(genes.size());
    FeatureBlock b;
    b.name = "identity";
    b.dense = RowMatrixF::Identity(g, g);
    op.blocks.push_back(std::move(b));
    op.description = "identity (A = I): the panel expression itself (control)";
    return op;
}

std::vector<std::vector<double>> block_singular_values(const FeatureOperator& op) {
    std::vector<std::vector<double>> out;
    for (const auto& b : op.blocks) {
        const Eigen::BDCSVD<Eigen::MatrixXd> svd(materialise(b, op.n_genes()));
        const auto& s = svd.singularValues();
        out.emplace_back(s.data(), s.data() + s.size());
    }
    return out;
}

FeatureOperator matched_spectrum_operator(const FeatureOperator& op, std::uint64_t seed) {
    if (op.blocks.empty()) throw Error("matched-spectrum operator: the operator has no blocks");
    FeatureOperator out;
    out.genes = op.genes;
    out.orientation = op.orientation;
    out.description = fmt::format("random orthogonal U diag(s) V^T with the singular values of [{}], seed {} (control)",
                                  op.description, seed);
    const auto g = op.n_genes();
    const auto spectra = block_singular_values(op);
    for (std::size_t bi = 0; bi < op.blocks.size(); ++bi) {
        Rng rng(seed, 0xC0DE0000ULL + bi);
        const Eigen::MatrixXd u = random_orthogonal(g, rng);
        const Eigen::MatrixXd v = random_orthogonal(g, rng);
        Eigen::VectorXd s = Eigen::Map<const Eigen::VectorXd>(spectra[bi].data(), static_cast<Eigen::Index>(spectra[bi].size()));
        FeatureBlock b;
        b.name = op.blocks[bi].name + " matched spectrum";
        b.dense = (u * s.asDiagonal() * v.transpose()).cast<float>();
        out.blocks.push_back(std::move(b));
    }
    return out;
}

FeatureOperator gene_permuted_operator(const FeatureOperator& op, std::uint64_t seed) {
    if (op.blocks.empty()) throw Error("gene-permuted operator: the operator has no blocks");
    const auto g = op.n_genes();
    std::vector<Eigen::Index> pi(static_cast<std::size_t>(g));
    std::iota(pi.begin(), pi.end(), Eigen::Index{0});
    Rng rng(seed, 0x5EED9E4EULL);
    shuffle_in_place(pi, rng);
    FeatureOperator out;
    out.genes = op.genes;
    out.orientation = op.orientation;
    out.description = fmt::format("[{}] with its genes permuted, seed {} (control)", op.description, seed);
    for (const auto& block : op.blocks) {
        const Eigen::MatrixXd m = materialise(block, g);
        FeatureBlock b;
        b.name = block.name + " gene-permuted";
        b.dense.resize(g, g);
        for (Eigen::Index i = 0; i < g; ++i)
            for (Eigen::Index j = 0; j < g; ++j) b.dense(i, j) = static_cast<float>(m(pi[i], pi[j]));
        out.blocks.push_back(std::move(b));
    }
    return out;
}

} // namespace scx
