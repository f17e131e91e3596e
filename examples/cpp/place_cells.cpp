// scextract's public C++ API from a program of your own: place the cells of an .h5ad with
// an algorithm file, in memory, and print the first few depths. Built with the tests
// (target scx_example_place_cells), so the public headers keep compiling on their own.
//
//   build/examples/scx_example_place_cells algorithm.scx query.h5ad
//
// In your CMake project: link the scx_api target (add_subdirectory of scextract).

#include "scextract/api/input_cells.hpp"
#include "scextract/scextract.hpp"

#include <cstdio>
#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s ALGORITHM.scx QUERY.h5ad\n", argv[0]);
        return 2;
    }
    try {
        const scx::Algorithm algorithm = scx::read_algorithm(argv[1]);
        const scx::MessageSink messages{[](const std::string& m) { std::cerr << m << "\n"; },
                                        [](const std::string& m) { std::cerr << "warning: " << m << "\n"; }};
        const auto cells = scx::read_dataset(argv[2], {});
        const auto symbols = scx::dataset_gene_symbols(cells, argv[2], "", messages);
        scx::InMemoryRowReader reader(cells.matrix);
        scx::ApplyOptions options;
        options.algorithm_path = argv[1];
        const scx::ApplyResult placed = scx::apply_algorithm_to(algorithm, reader, symbols, options);
        std::printf("%lld cells, %lld-D latent (scextract %s)\n", static_cast<long long>(placed.latent.rows()),
                    static_cast<long long>(placed.latent.cols()), scx::version());
        for (const auto& [name, column] : placed.obs) {
            const auto* values = std::get_if<scx::NdArray>(&column);
            if (name != "scx_depth" || values == nullptr) continue;
            for (std::int64_t i = 0; i < std::min<std::int64_t>(5, values->size()); ++i)
                std::printf("cell %lld: depth %.4f\n", static_cast<long long>(i), values->at(i));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
