// libFuzzer target: an h5ad file as an in-memory HDF5 image (HDF5's core driver), read by
// read_h5ad(), the reader behind every h5ad input of the CLI.
#include "fuzz_support.hpp"
#include "scextract/io/h5ad_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return scx::fuzz::run_reader([&] {
        std::vector<std::string> warnings;
        (void)scx::read_h5ad_image(scx::fuzz::as_bytes(data, size), "fuzz.h5ad", {}, &warnings);
    });
}
