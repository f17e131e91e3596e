// libFuzzer target: an scGPT vocab.json (io/vocab_json), by name and by id.
#include "fuzz_support.hpp"
#include "scextract/io/vocab_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = scx::fuzz::write_file("vocab.json", {data, size});
    return scx::fuzz::run_reader([&] { (void)scx::read_vocab_symbols_by_id(path); });
}
