/// @file h5ad_read_tool.cpp
/// @brief Times one read of X from an .h5ad for bench/h5ad_read/run.py.
///
///   h5ad_read_tool full PATH            read_h5ad_matrix (whole X as float32 CSR)
///   h5ad_read_tool chunked PATH ROWS    H5adRowReader over all rows, ROWS at a time
/// Prints one JSON line: seconds, nnz, checksum, peak resident memory in MB.

#include "scextract/core/memory.hpp"
#include "scextract/io/h5ad_reader.hpp"

#include <chrono>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: h5ad_read_tool full|chunked PATH [ROWS]\n");
        return 2;
    }
    const std::string mode = argv[1], path = argv[2];
    const auto t0 = std::chrono::steady_clock::now();
    std::int64_t nnz = 0;
    double checksum = 0;
    try {
        if (mode == "full") {
            const auto m = scx::read_h5ad_matrix(path, {});
            nnz = m.nnz();
            for (std::int64_t k = 0; k < nnz; k += 4099) checksum += m.values[k];
        } else if (mode == "chunked") {
            const std::int64_t rows = argc > 3 ? std::stoll(argv[3]) : 10000;
            scx::H5adRowReader reader(path, {});
            scx::CsrMatrix block; // reused, as apply reuses its blocks
            for (std::int64_t b = 0; b < reader.n_rows(); b += rows) {
                reader.read_rows_into(b, std::min(reader.n_rows(), b + rows), block);
                for (std::int64_t k = 0; k < block.nnz(); k += 4099) checksum += block.values[k];
                nnz += block.nnz();
            }
        } else {
            std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
            return 2;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "h5ad_read_tool: %s\n", e.what());
        return 1;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"seconds\": %.4f, \"nnz\": %lld, \"checksum\": %.6g, \"peak_mb\": %.1f}\n", seconds,
                static_cast<long long>(nnz), checksum, scx::peak_resident_mb());
    return 0;
}
