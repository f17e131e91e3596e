// libFuzzer target: a CSV / TSV counts table (io/csv_counts). The first byte picks the
// name: .csv, .tsv, or .csv.gz holding the rest gzipped by us.
#include "fuzz_support.hpp"
#include "scextract/io/csv_counts.hpp"

#include <zlib.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::span<const std::uint8_t> body(data + 1, size - 1);
    std::string path;
    switch (data[0] % 3) {
    case 0: path = scx::fuzz::write_file("counts.csv", body); break;
    case 1: path = scx::fuzz::write_file("counts.tsv", body); break;
    default: {
        path = (scx::fuzz::scratch_dir() / "counts.csv.gz").string();
        gzFile f = gzopen(path.c_str(), "wb1");
        if (!f) return 0;
        if (!body.empty()) gzwrite(f, body.data(), static_cast<unsigned>(body.size()));
        gzclose(f);
    }
    }
    return scx::fuzz::run_reader([&] { (void)scx::read_csv_counts(path); });
}
