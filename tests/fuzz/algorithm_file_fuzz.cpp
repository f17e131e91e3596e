// libFuzzer target: an algorithm file, .scx (io/algorithm_file), read from a file.
#include "fuzz_support.hpp"
#include "scextract/io/algorithm_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("algorithm.scx", {data, size});
    return scx::fuzz::run_reader([&] { (void)scx::read_algorithm_file(path); });
}
