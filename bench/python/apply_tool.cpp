/// @file apply_tool.cpp
/// @brief The C++ side of bench/python/run.py: reads X of an .h5ad whole into memory, then
/// applies an algorithm to it through the public API (the call scx.apply makes), and prints
/// {"read_seconds", "apply_seconds", "cells"} as JSON.
///   apply_tool ALGORITHM.scx INPUT.h5ad THREADS

#include "scextract/api/input_cells.hpp"
#include "scextract/apply.hpp"
#include "scextract/io/dataset.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: apply_tool ALGORITHM.scx INPUT.h5ad THREADS\n");
        return 2;
    }
    try {
        using clock = std::chrono::steady_clock;
        const auto seconds = [](clock::time_point a) { return std::chrono::duration<double>(clock::now() - a).count(); };
        const auto algorithm = scx::read_algorithm(argv[1]);
        auto t0 = clock::now();
        const auto d = scx::read_dataset(argv[2], {});
        const auto symbols = scx::dataset_gene_symbols(d, argv[2], "", {});
        const double read = seconds(t0);
        scx::ApplyOptions o;
        o.threads = std::atoi(argv[3]);
        scx::InMemoryRowReader reader(d.matrix);
        t0 = clock::now();
        const auto r = scx::apply_algorithm_to(algorithm, reader, symbols, o);
        const double apply = seconds(t0);
        std::printf("{\"read_seconds\": %.6f, \"apply_seconds\": %.6f, \"cells\": %lld}\n", read, apply,
                    static_cast<long long>(r.latent.rows()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "apply_tool: %s\n", e.what());
        return 1;
    }
}
