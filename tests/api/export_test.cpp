// export gives the same operator file, byte for byte, at 1, 2 and 3 threads (issue 23,
// item 4), in each mode: the bundled small pretrained checkpoint and pbmc68k_reduced
// (both in data/), with work units small enough that every thread count splits the cells.

#include "scextract/export.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

std::string bytes_of(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ExportFile, SameBytesForOneTwoAndThreeThreads) {
    const auto data = std::filesystem::path(SCX_SOURCE_DIR) / "data";
    const auto model = data / "scgpt_pretrained_small", reference = data / "pbmc68k_reduced.h5ad";
    if (!std::filesystem::exists(model / "best_model.pt") || !std::filesystem::exists(reference))
        GTEST_SKIP() << "the bundled checkpoint or pbmc68k_reduced is absent from " << data;
    scx::test::TempDir dir;
    for (const std::string mode : {"atlas", "qk", "ov"}) {
        std::string first;
        for (const int threads : {1, 2, 3}) {
            scx::ExportFileOptions o;
            o.model = model.string();
            o.reference = reference.string();
            o.out = (dir.path() / (mode + std::to_string(threads) + ".scxop")).string();
            o.mode = mode;
            o.panel = 120;
            o.cells = 48;
            o.batch_size = 5; // ten work units: uneven shares at 2 and 3 threads
            o.threads = threads;
            (void)scx::export_file(o);
            const auto bytes = bytes_of(o.out);
            ASSERT_FALSE(bytes.empty());
            if (threads == 1) first = bytes;
            else EXPECT_TRUE(bytes == first) << mode << ": " << threads << " threads gave other bytes than 1";
        }
    }
}

} // namespace
