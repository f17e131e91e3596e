// libFuzzer target: a Cell Ranger MatrixMarket folder (io/tenx_mtx). The input is
// MODE BYTE, matrix.mtx, "\n--8<--\n", features.tsv, "\n--8<--\n", barcodes.tsv. The mode
// byte's low bits: 0 plain files, 1 the matrix gzipped by us (the gz path on sensible text),
// 2 the matrix bytes written as matrix.mtx.gz as they are (a raw gzip stream); bit 2 names
// the features file genes.tsv (the v2 layout).
#include "fuzz_support.hpp"
#include "scextract/io/tenx.hpp"

#include <zlib.h>

namespace {
void write_gzip(const std::string& path, std::span<const std::uint8_t> bytes) {
    gzFile f = gzopen(path.c_str(), "wb1");
    if (!f) return;
    if (!bytes.empty()) gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    namespace fs = std::filesystem;
    const auto dir = scx::fuzz::scratch_dir() / "mtx";
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir);
    const auto parts = scx::fuzz::split_parts({data + 1, size - 1}, 3);
    const int mode = data[0] & 3;
    if (mode == 1) write_gzip((dir / "matrix.mtx.gz").string(), parts[0]);
    else scx::fuzz::write_file(mode == 2 ? "mtx/matrix.mtx.gz" : "mtx/matrix.mtx", parts[0]);
    scx::fuzz::write_file((data[0] & 4) ? "mtx/genes.tsv" : "mtx/features.tsv", parts[1]);
    scx::fuzz::write_file("mtx/barcodes.tsv", parts[2]);
    return scx::fuzz::run_reader([&] { (void)scx::read_10x_mtx(dir.string()); });
}
