#include "scextract/baselines/diffusion_map.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/parallel.hpp"

#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include <fmt/format.h>

namespace scx {

namespace {

constexpr std::int64_t kDenseBelow = 1000; // cells per component solved densely
constexpr std::int64_t kProductChunk = 4096; // rows of one task of the matrix-vector product

/// y = M x for a symmetric M stored whole, for Spectra. Entry i of y is column i of M times x,
/// summed by one task in storage order, so the bits do not depend on the thread count.
class SymmetricProduct {
public:
    using Scalar = double;
    SymmetricProduct(const SparseMatrixD& m, int threads) : m_(m), threads_(threads) {}
    [[nodiscard]] Eigen::Index rows() const { return m_.rows(); }
    [[nodiscard]] Eigen::Index cols() const { return m_.cols(); }
    void perform_op(const double* x, double* y) const {
        parallel_for(m_.cols(), kProductChunk, threads_, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) {
                double sum = 0.0;
                for (SparseMatrixD::InnerIterator it(m_, static_cast<Eigen::Index>(i)); it; ++it) sum += it.value() * x[it.row()];
                y[i] = sum;
            }
        });
    }

private:
    const SparseMatrixD& m_;
    int threads_;
};

struct Eigenpairs {
    Eigen::VectorXd values;
    Eigen::MatrixXd vectors; // component cells x pairs
};

/// The @p k eigenpairs of largest magnitude of the symmetric @p m.
Eigenpairs largest_magnitude(const SparseMatrixD& m, std::int64_t k, int threads) {
    const std::int64_t n = m.rows();
    if (n < kDenseBelow || k >= n - 1) {
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Eigen::MatrixXd(m), Eigen::ComputeEigenvectors);
        std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) {
            return std::fabs(es.eigenvalues()(a)) > std::fabs(es.eigenvalues()(b));
        });
        const std::int64_t take = std::min(k, n);
        Eigenpairs e{Eigen::VectorXd(take), Eigen::MatrixXd(n, take)};
        for (std::int64_t j = 0; j < take; ++j) {
            e.values(j) = es.eigenvalues()(order[static_cast<std::size_t>(j)]);
            e.vectors.col(j) = es.eigenvectors().col(order[static_cast<std::size_t>(j)]);
        }
        return e;
    }
    SymmetricProduct op(m, threads);
    const Eigen::Index ncv = std::min<Eigen::Index>(n, std::max<Eigen::Index>(2 * k + 1, 20)); // scipy's eigsh default
    Spectra::SymEigsSolver<SymmetricProduct> eigs(op, k, ncv);
    eigs.init(); // Spectra's fixed-seed start vector: the same run every time
    const auto nconv = eigs.compute(Spectra::SortRule::LargestMagn, 5000, 1e-12, Spectra::SortRule::LargestMagn);
    if (eigs.info() != Spectra::CompInfo::Successful || nconv < k)
        throw Error(fmt::format("diffusion map: the eigensolver did not converge on a {}-cell component", n));
    return {eigs.eigenvalues(), eigs.eigenvectors(k)};
}

} // namespace

std::int64_t connected_components(const SparseMatrixD& graph, std::vector<std::int64_t>& component) {
    const std::int64_t n = graph.rows();
    component.assign(static_cast<std::size_t>(n), -1);
    std::int64_t count = 0;
    std::vector<std::int64_t> stack;
    for (std::int64_t s = 0; s < n; ++s) {
        if (component[static_cast<std::size_t>(s)] >= 0) continue;
        component[static_cast<std::size_t>(s)] = count;
        stack.assign(1, s);
        while (!stack.empty()) {
            const std::int64_t v = stack.back();
            stack.pop_back();
            for (SparseMatrixD::InnerIterator it(graph, static_cast<Eigen::Index>(v)); it; ++it) {
                auto& c = component[static_cast<std::size_t>(it.row())];
                if (c < 0) {
                    c = count;
                    stack.push_back(it.row());
                }
            }
        }
        ++count;
    }
    return count;
}

DiffusionMapResult diffusion_map(const SparseMatrixD& connectivities, const DiffusionMapOptions& options) {
    const std::int64_t n = connectivities.rows();
    if (connectivities.cols() != n)
        throw Error(fmt::format("diffusion map: the graph is {} x {}, not square", n, connectivities.cols()));
    if (n < 3) throw Error(fmt::format("diffusion map: {} cells, at least 3 needed", n));
    if (options.n_components < 1) throw Error("diffusion map: n_components must be positive");

    // density normalisation and symmetric scaling, as scanpy's compute_transitions
    Eigen::VectorXd degree = Eigen::VectorXd::Zero(n);
    for (int c = 0; c < connectivities.outerSize(); ++c)
        for (SparseMatrixD::InnerIterator it(connectivities, c); it; ++it) degree(it.col()) += it.value();
    if ((degree.array() <= 0.0).any())
        throw Error("diffusion map: a cell has no neighbour with positive weight");
    SparseMatrixD k = connectivities;
    if (options.density_normalize)
        for (int c = 0; c < k.outerSize(); ++c)
            for (SparseMatrixD::InnerIterator it(k, c); it; ++it)
                it.valueRef() /= degree(it.row()) * degree(it.col());
    Eigen::VectorXd z = Eigen::VectorXd::Zero(n);
    for (int c = 0; c < k.outerSize(); ++c)
        for (SparseMatrixD::InnerIterator it(k, c); it; ++it) z(it.col()) += it.value();
    z = z.array().sqrt();
    for (int c = 0; c < k.outerSize(); ++c)
        for (SparseMatrixD::InnerIterator it(k, c); it; ++it) it.valueRef() /= z(it.row()) * z(it.col());

    DiffusionMapResult r;
    r.n_graph_components = connected_components(connectivities, r.graph_component);
    const std::int64_t n_comps = std::min(options.n_components, n - 1);

    // solve each component; collect (value, component, column)
    struct Pair {
        double value;
        std::int64_t component, column;
    };
    std::vector<Pair> pairs;
    std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(r.n_graph_components));
    for (std::int64_t i = 0; i < n; ++i) members[static_cast<std::size_t>(r.graph_component[static_cast<std::size_t>(i)])].push_back(i);
    std::vector<Eigenpairs> solved;
    for (std::int64_t c = 0; c < r.n_graph_components; ++c) {
        const auto& cells = members[static_cast<std::size_t>(c)];
        const auto m = static_cast<std::int64_t>(cells.size());
        std::vector<std::int64_t> local(static_cast<std::size_t>(n), -1);
        for (std::int64_t i = 0; i < m; ++i) local[static_cast<std::size_t>(cells[static_cast<std::size_t>(i)])] = i;
        std::vector<Eigen::Triplet<double>> t;
        for (const auto cell : cells)
            for (SparseMatrixD::InnerIterator it(k, static_cast<Eigen::Index>(cell)); it; ++it)
                t.emplace_back(static_cast<int>(local[static_cast<std::size_t>(it.row())]),
                               static_cast<int>(local[static_cast<std::size_t>(cell)]), it.value());
        SparseMatrixD block(m, m);
        block.setFromTriplets(t.begin(), t.end());
        solved.push_back(largest_magnitude(block, std::min(n_comps, m), options.threads));
        for (Eigen::Index j = 0; j < solved.back().values.size(); ++j) pairs.push_back({solved.back().values(j), c, j});
    }
    // the n_comps of largest magnitude overall, then in decreasing order (scanpy's sort)
    std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return std::fabs(a.value) > std::fabs(b.value); });
    pairs.resize(static_cast<std::size_t>(std::min<std::int64_t>(n_comps, static_cast<std::int64_t>(pairs.size()))));
    std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.value > b.value; });

    const auto taken = static_cast<Eigen::Index>(pairs.size());
    r.eigenvalues.resize(taken);
    r.eigenvectors = RowMatrixD::Zero(n, taken);
    for (Eigen::Index j = 0; j < taken; ++j) {
        const auto& p = pairs[static_cast<std::size_t>(j)];
        r.eigenvalues(j) = p.value;
        const auto& cells = members[static_cast<std::size_t>(p.component)];
        const auto& vec = solved[static_cast<std::size_t>(p.component)].vectors;
        // sign convention: the entry of largest magnitude is positive (scanpy's is arbitrary)
        Eigen::Index arg = 0;
        vec.col(p.column).cwiseAbs().maxCoeff(&arg);
        const double sign = vec(arg, p.column) < 0.0 ? -1.0 : 1.0;
        for (std::size_t i = 0; i < cells.size(); ++i)
            r.eigenvectors(cells[i], j) = sign * vec(static_cast<Eigen::Index>(i), p.column);
    }
    return r;
}

} // namespace scx
