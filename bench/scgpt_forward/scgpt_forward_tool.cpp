/// @file scgpt_forward_tool.cpp
/// @brief Times scGPT's encoder forward pass (cell embeddings only) for bench/scgpt_forward/run.py.
///
///   scgpt_forward_tool [--model DIR] [--cells-file PATH | --cells N --genes G --spread S]
///                      [--threads T] [--batch B] [--seed S] [--means-out PATH]
///   scgpt_forward_tool --load-only DIR
///   scgpt_forward_tool --sgemm-peak [--threads T]
/// Without --model the weights are random, whole-human sized (12 layers, d 512, 8 heads,
/// d_hid 512, vocabulary 60697), drawn like PyTorch's default init. Without --cells-file
/// the cells are random: about G tokens each (uniform in G +- S), distinct gene ids,
/// log1p-like values. --cells-file is the binary format run.py writes: int64 n_cells,
/// then per cell int64 L, L int64 ids, L float32 values (little-endian).
/// Prints one JSON line: cells, tokens, seconds, cells_per_s, gflops, load_seconds, checksum
/// (sum of the cell means), load_peak_mb (peak after loading the weights), peak_mb
/// (--load-only: seconds, parameters, peak_mb).
/// --sgemm-peak: this machine's single-precision GEMM rate as the forward pass can use it,
/// OpenBLAS sgemm at one thread on each of T OpenMP threads at once (the forward pass's own
/// arrangement), square 1,536 matrices, best of 5: prints sgemm_gflops, threads.

#include "scextract/core/memory.hpp"
#include "scextract/core/blas_threads.hpp"
#include "scextract/model/scgpt_checkpoint.hpp"
#include "scextract/model/scgpt_forward.hpp"
#include "scextract/model/scgpt_weights.hpp"
#include "scextract/model/tokenized_cell.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// OpenBLAS sgemm's rate in GFLOP/s with one BLAS thread per OpenMP thread, all busy at once.
double sgemm_peak_gflops(int threads) {
    const scx::SingleThreadedBlas one_blas_thread;
    constexpr int n = 1536, reps = 4;
    double best = 0.0;
    for (int trial = 0; trial < 5; ++trial) {
        double seconds = 0.0;
#pragma omp parallel num_threads(threads) reduction(max : seconds)
        {
            std::vector<float> a(static_cast<std::size_t>(n) * n, 0.5F), b(a.size(), 0.25F), c(a.size(), 0.0F);
#pragma omp barrier
            const auto t0 = std::chrono::steady_clock::now();
            for (int r = 0; r < reps; ++r)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0F, a.data(), n, b.data(), n, 0.0F,
                            c.data(), n);
            seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        best = std::max(best, 2.0 * n * n * static_cast<double>(n) * reps * threads / seconds / 1e9);
    }
    return best;
}

double peak_mb() { return scx::peak_resident_mb(); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
void uniform_fill(float* p, std::int64_t n, float bound, std::mt19937_64& rng) {
    std::uniform_real_distribution<float> u(-bound, bound);
    for (std::int64_t i = 0; i < n; ++i) p[i] = u(rng);
}

scx::RowMatrixF linear_weight(std::int64_t out, std::int64_t in, std::mt19937_64& rng) {
    scx::RowMatrixF w(out, in);
    uniform_fill(w.data(), w.size(), 1.0F / std::sqrt(static_cast<float>(in)), rng);
    return w;
}

scx::VectorF linear_bias(std::int64_t out, std::int64_t in, std::mt19937_64& rng) {
    scx::VectorF b(out);
    uniform_fill(b.data(), b.size(), 1.0F / std::sqrt(static_cast<float>(in)), rng);
    return b;
}

scx::ScGptWeights random_weights(std::int64_t vocab, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    scx::ScGptWeights w;
    const auto& c = w.config; // defaults are whole-human scGPT's
    const std::int64_t d = c.d_model;
    w.gene_embedding.resize(vocab, d);
    std::normal_distribution<float> normal(0.0F, 1.0F); // nn.Embedding's default init
    for (std::int64_t i = 0; i < w.gene_embedding.size(); ++i) w.gene_embedding.data()[i] = normal(rng);
    w.enc_norm_w = scx::VectorF::Ones(d);
    w.enc_norm_b = scx::VectorF::Zero(d);
    w.value_W1 = linear_weight(d, 1, rng);
    w.value_b1 = linear_bias(d, 1, rng);
    w.value_W2 = linear_weight(d, d, rng);
    w.value_b2 = linear_bias(d, d, rng);
    w.value_norm_w = scx::VectorF::Ones(d);
    w.value_norm_b = scx::VectorF::Zero(d);
    for (std::int64_t l = 0; l < c.n_layers; ++l) {
        scx::ScGptLayerWeights L;
        L.Wqkv = linear_weight(3 * d, d, rng);
        L.bqkv = scx::VectorF::Zero(3 * d); // nn.MultiheadAttention zeroes in_proj_bias
        L.Wo = linear_weight(d, d, rng);
        L.bo = scx::VectorF::Zero(d);
        L.W1 = linear_weight(c.d_hid, d, rng);
        L.b1 = linear_bias(c.d_hid, d, rng);
        L.W2 = linear_weight(d, c.d_hid, rng);
        L.b2 = linear_bias(d, c.d_hid, rng);
        L.norm1_w = L.norm2_w = scx::VectorF::Ones(d);
        L.norm1_b = L.norm2_b = scx::VectorF::Zero(d);
        w.layers.push_back(std::move(L));
    }
    return w;
}

std::vector<scx::TokenizedCell> random_cells(std::int64_t n, std::int64_t genes, std::int64_t spread,
                                             std::int64_t vocab, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::int64_t> len(std::max<std::int64_t>(1, genes - spread), genes + spread);
    std::geometric_distribution<int> count(0.3);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(vocab));
    std::iota(ids.begin(), ids.end(), 0);
    std::vector<scx::TokenizedCell> cells(static_cast<std::size_t>(n));
    for (auto& cell : cells) {
        const std::int64_t L = std::min(len(rng), vocab);
        for (std::int64_t i = 0; i < L; ++i) { // partial Fisher-Yates: L distinct genes
            std::uniform_int_distribution<std::int64_t> pick(i, vocab - 1);
            std::swap(ids[static_cast<std::size_t>(i)], ids[static_cast<std::size_t>(pick(rng))]);
            cell.gene_ids.push_back(ids[static_cast<std::size_t>(i)]);
            cell.values.push_back(std::log1p(static_cast<float>(1 + count(rng))));
        }
    }
    return cells;
}

std::vector<scx::TokenizedCell> read_cells(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    auto read = [&](void* p, std::size_t bytes) {
        if (!in.read(static_cast<char*>(p), static_cast<std::streamsize>(bytes)))
            throw std::runtime_error(path + ": truncated");
    };
    std::int64_t n = 0;
    read(&n, sizeof n);
    if (n < 0) throw std::runtime_error(path + ": negative cell count");
    std::vector<scx::TokenizedCell> cells(static_cast<std::size_t>(n));
    for (auto& cell : cells) {
        std::int64_t L = 0;
        read(&L, sizeof L);
        if (L < 0 || L > (1 << 24)) throw std::runtime_error(path + ": bad cell length");
        cell.gene_ids.resize(static_cast<std::size_t>(L));
        cell.values.resize(static_cast<std::size_t>(L));
        read(cell.gene_ids.data(), sizeof(std::int64_t) * static_cast<std::size_t>(L));
        read(cell.values.data(), sizeof(float) * static_cast<std::size_t>(L));
    }
    return cells;
}

} // namespace

int main(int argc, char** argv) {
    std::string model, cells_file, load_only, means_out;
    bool sgemm_peak = false;
    std::int64_t n_cells = 64, genes = 600, spread = 100, batch = 8, seed = 42;
    int threads = 1;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            auto next = [&]() -> std::string {
                if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
                return argv[++i];
            };
            if (a == "--model")
                model = next();
            else if (a == "--cells-file")
                cells_file = next();
            else if (a == "--load-only")
                load_only = next();
            else if (a == "--sgemm-peak")
                sgemm_peak = true;
            else if (a == "--means-out")
                means_out = next();
            else if (a == "--cells")
                n_cells = std::stoll(next());
            else if (a == "--genes")
                genes = std::stoll(next());
            else if (a == "--spread")
                spread = std::stoll(next());
            else if (a == "--batch")
                batch = std::stoll(next());
            else if (a == "--seed")
                seed = std::stoll(next());
            else if (a == "--threads")
                threads = std::stoi(next());
            else
                throw std::invalid_argument("unknown option " + a);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "scgpt_forward_tool: %s\n", e.what());
        return 2;
    }
    try {
        if (sgemm_peak) {
            std::printf("{\"sgemm_gflops\": %.2f, \"threads\": %d}\n", sgemm_peak_gflops(threads), threads);
            return 0;
        }
        if (!load_only.empty()) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto ckpt = scx::load_scgpt_checkpoint(load_only);
            const double s = seconds_since(t0);
            std::printf("{\"seconds\": %.4f, \"parameters\": %lld, \"format\": \"%s\", \"peak_mb\": %.1f}\n", s,
                        static_cast<long long>(ckpt.report.n_parameters), ckpt.format.c_str(), peak_mb());
            return 0;
        }
        const std::int64_t vocab = 60697; // whole-human scGPT vocabulary
        const auto t_load = std::chrono::steady_clock::now();
        scx::ScGptWeights weights;
        if (model.empty())
            weights = random_weights(vocab, static_cast<std::uint64_t>(seed));
        else
            weights = scx::load_scgpt_checkpoint(model).weights;
        const double load_seconds = seconds_since(t_load);
        const double load_peak_mb = peak_mb();
        const auto cells = cells_file.empty() ? random_cells(n_cells, genes, spread, weights.gene_embedding.rows(),
                                                             static_cast<std::uint64_t>(seed) + 1)
                                              : read_cells(cells_file);

        const auto& c = weights.config;
        const double d = static_cast<double>(c.d_model), dh = static_cast<double>(c.d_hid);
        double flops = 0;
        std::int64_t tokens = 0;
        for (const auto& cell : cells) {
            const double L = static_cast<double>(cell.gene_ids.size());
            tokens += static_cast<std::int64_t>(cell.gene_ids.size());
            flops += static_cast<double>(c.n_layers) *
                     (2 * L * d * 3 * d + 2 * L * L * d * 2 + 2 * L * d * d + 2 * 2 * L * d * dh);
        }

        scx::ScGptForwardOptions opt;
        opt.threads = threads;
        opt.batch_size = batch;
        opt.want_mean = true;
        const auto t0 = std::chrono::steady_clock::now();
        const auto result = scx::run_scgpt_forward(weights, cells, opt);
        const double s = seconds_since(t0);
        if (!means_out.empty()) { // raw float32 [cells, d], row-major, for run.py's comparison
            std::ofstream out(means_out, std::ios::binary);
            out.write(reinterpret_cast<const char*>(result.mean.data()),
                      static_cast<std::streamsize>(sizeof(float) * static_cast<std::size_t>(result.mean.size())));
            if (!out) throw std::runtime_error(means_out + ": cannot write");
        }
        const double checksum = result.mean.size() > 0 ? static_cast<double>(result.mean.sum()) : 0.0;
        std::printf("{\"cells\": %lld, \"tokens\": %lld, \"seconds\": %.4f, \"cells_per_s\": %.4f, "
                    "\"gflops\": %.3f, \"load_seconds\": %.4f, \"checksum\": %.6g, \"load_peak_mb\": %.1f, "
                    "\"peak_mb\": %.1f}\n",
                    static_cast<long long>(cells.size()), static_cast<long long>(tokens), s,
                    static_cast<double>(cells.size()) / s, flops / s / 1e9, load_seconds, checksum, load_peak_mb,
                    peak_mb());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "scgpt_forward_tool: %s\n", e.what());
        return 1;
    }
    return 0;
}
