// libFuzzer target: an scGPT args.json (model/scgpt_config), parsed as the checkpoint
// loader parses it (model/scgpt_checkpoint.cpp: JSON errors become scx::Error).
#include "fuzz_support.hpp"
#include "scextract/model/scgpt_config.hpp"

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    nlohmann::json args;
    try {
        args = nlohmann::json::parse(data, data + size);
    } catch (const nlohmann::json::exception&) {
        return 0; // the loader turns this into "args.json: not valid JSON (...)"
    }
    return scx::fuzz::run_reader([&] { (void)scx::parse_scgpt_config(args, "args.json"); });
}
