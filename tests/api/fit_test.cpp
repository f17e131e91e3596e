// fit gives the same bytes for any thread count (issue 23, item 4): 1, 2 and 3 threads on the
// real Kang 2018 PBMC file, where Eigen's thread-dependent GEMM blocking once made 1 differ.

#include "scextract/fit.hpp"

#include "ood_test_data.hpp"
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

TEST(FitFile, SameBytesForOneTwoAndThreeThreads) {
    const auto kang = std::filesystem::path(SCX_SHARED_DATA_DIR) / "muscat_kang2018_pbmc" / "muscat_kang2018_pbmc.h5ad";
    if (!std::filesystem::exists(kang)) GTEST_SKIP() << kang << " is absent (../shared/data)";
    scx::test::TempDir dir;
    scx::DatasetReadOptions read;
    read.metadata_only = true;
    const auto d = scx::read_dataset(kang.string(), read);
    std::vector<std::string> genes(d.var_names.begin(), d.var_names.begin() + 400);
    auto set = scx::test::small_operator_set(genes);
    set.provenance.reference_path = kang.string();
    const auto ops = (dir.path() / "ops.scxop").string();
    scx::write_operator_file(set, ops);
    std::string first;
    for (const int threads : {1, 2, 3}) {
        scx::FitFileOptions o;
        o.operator_file = ops;
        o.reference.path = kang.string();
        o.reference.donor_key = "donor";
        o.out = (dir.path() / ("algo" + std::to_string(threads) + ".scx")).string();
        o.features.variant = "head";
        o.features.layer = 0;
        o.features.head = 0;
        o.epochs = 150;
        o.threads = threads;
        scx::fit_file(o);
        const auto bytes = bytes_of(o.out);
        if (threads == 1) first = bytes;
        else EXPECT_TRUE(bytes == first) << threads << " threads gave other bytes than 1";
    }
}

} // namespace
