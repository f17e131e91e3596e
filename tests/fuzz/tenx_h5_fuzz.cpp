// libFuzzer target: a Cell Ranger HDF5 matrix (io/tenx_h5), read from a file.
#include "fuzz_support.hpp"
#include "scextract/io/tenx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("filtered_feature_bc_matrix.h5", {data, size});
    return scx::fuzz::run_reader([&] { (void)scx::read_10x_h5(path); });
}
