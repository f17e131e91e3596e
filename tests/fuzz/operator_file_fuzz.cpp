// libFuzzer target: an operator file, .scxop (io/operator_file): the lazy view, one
// operator through it, then the whole file.
#include "fuzz_support.hpp"
#include "scextract/io/operator_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("operators.scxop", {data, size});
    scx::fuzz::run_reader([&] {
        const scx::OperatorFileView view(path);
        if (view.n_layers() > 0 && view.n_heads() > 0) (void)view.op(0, 0).sum();
        (void)view.cooccurrence();
    });
    return scx::fuzz::run_reader([&] { (void)scx::read_operator_file(path); });
}
