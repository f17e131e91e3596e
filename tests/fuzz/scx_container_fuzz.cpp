// libFuzzer target: the container under .scx and .scxop (io/scx_container): opened with
// every checksum checked, each array read in its dtype.
#include "fuzz_support.hpp"
#include "scextract/io/scx_container.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("container.scx", {data, size});
    return scx::fuzz::run_reader([&] {
        const scx::ScxContainer c(path);
        for (const auto& a : c.arrays()) {
            const auto b = c.bytes(a.name);
            unsigned sum = 0;
            for (const auto x : b) sum += static_cast<unsigned>(x);
            (void)sum;
            c.verify_array(a.name);
        }
    });
}
