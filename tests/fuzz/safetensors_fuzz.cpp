// libFuzzer target: a safetensors file (io/safetensors): the header alone, then the whole file.
#include "fuzz_support.hpp"
#include "scextract/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("model.safetensors", {data, size});
    scx::fuzz::run_reader([&] { (void)scx::read_safetensors_header(path); });
    return scx::fuzz::run_reader([&] { (void)scx::read_safetensors(path); });
}
