// libFuzzer target: the restricted pickle VM (io/restricted_pickle) under the default
// resolver (refuses every global) and under torch's (the resolver a checkpoint's data.pkl
// meets, storages served as zeros). The first byte picks the resolver.
#include "fuzz_support.hpp"
#include "scextract/io/restricted_pickle.hpp"
#include "scextract/io/torch_checkpoint.hpp"

#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto pickle = scx::fuzz::as_bytes(data + 1, size - 1);
    if (data[0] & 1) {
        return scx::fuzz::run_reader([&] {
            scx::pickle::Resolver refuse_all;
            const auto out = scx::pickle::unpickle(pickle, refuse_all, "fuzz.pkl");
            (void)out;
        });
    }
    return scx::fuzz::run_reader([&] {
        const scx::TorchStorageLoader zeros = [](const std::string& key, std::uint64_t nbytes) {
            if (nbytes > (std::uint64_t{1} << 24)) throw scx::Error("fuzz.pkl: storage " + key + " over the fuzz cap");
            return std::make_shared<const std::vector<std::byte>>(static_cast<std::size_t>(nbytes));
        };
        const auto ck = scx::parse_torch_pickle(pickle, zeros, "fuzz.pkl");
        (void)ck;
    });
}
