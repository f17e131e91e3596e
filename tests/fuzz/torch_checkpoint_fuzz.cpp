// libFuzzer target: a torch.save zip checkpoint (io/torch_checkpoint), read from a file
// as the CLI reads it.
#include "fuzz_support.hpp"
#include "scextract/io/torch_checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("model.pt", {data, size});
    return scx::fuzz::run_reader([&] { (void)scx::read_torch_checkpoint(path); });
}
