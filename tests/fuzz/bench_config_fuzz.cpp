// libFuzzer target: a bench config JSON (bench/bench_config), read from a file as
// `scextract bench --config` reads it. Built only with -DSCX_FUZZ_BENCH=ON: it needs
// scx_bench and everything below it, several times the build of the other targets.
#include "fuzz_support.hpp"
#include "scextract/bench/bench_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("bench.json", {data, size});
    return scx::fuzz::run_reader([&] { (void)scx::read_bench_config(path); });
}
