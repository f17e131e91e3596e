// libFuzzer target: a ruler file (io/ruler_json) parsed from text, then checked as the
// CLI checks a ruler it loads (check_ruler).
#include "fuzz_support.hpp"
#include "scextract/core/ruler.hpp"
#include "scextract/io/ruler_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    return scx::fuzz::run_reader([&] {
        const auto ruler = scx::parse_ruler_text(text, "fuzz_ruler.json");
        (void)scx::check_ruler(ruler, {"HSC", "B cell"});
    });
}
