// Kept method x splits: a record round-trips bit for bit; another run's fingerprint, a torn or
// flipped file, or another method's name is never taken for a result; resume refuses a folder
// of another run and a fresh run empties it.

#include "scextract/bench/split_checkpoint.hpp"

#include "scextract/core/error.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

using scx::test::TempDir;

scx::SplitRecord record() {
    scx::SplitRecord r;
    r.prediction.latent = scx::RowMatrixF::Random(7, 3);
    r.prediction.pseudotime = Eigen::VectorXd::LinSpaced(7, 0.0, 1.0);
    r.prediction.pseudotime(2) = std::numeric_limits<double>::quiet_NaN();
    r.prediction.branch = {0, 1, 1, -1, 2, 0, 1};
    r.prediction.stage = {3, 4, 4, -1, 9, 3, 4};
    r.prediction.binary_scores = {Eigen::VectorXd::Constant(7, 0.25), Eigen::VectorXd()};
    r.cache_seconds = 1.5;
    r.seconds = 0.25;
    r.note = "chose pca10";
    r.trainable_parameters = 1234;
    r.operator_size = scx::OperatorSize{99, 0.000396};
    return r;
}

TEST(SplitCheckpoint, RoundTripsARecord) {
    TempDir dir;
    const scx::SplitCheckpoint c(dir.path() / "checkpoint", "fp1", false);
    const auto r = record();
    c.save(2, "my method/x", 5, r);
    const auto back = c.load(2, "my method/x", 5);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->prediction.latent, r.prediction.latent);
    EXPECT_TRUE(std::isnan(back->prediction.pseudotime(2)));
    EXPECT_EQ(back->prediction.pseudotime(6), 1.0);
    EXPECT_EQ(back->prediction.branch, r.prediction.branch);
    EXPECT_EQ(back->prediction.stage, r.prediction.stage);
    ASSERT_EQ(back->prediction.binary_scores.size(), 2u);
    EXPECT_EQ(back->prediction.binary_scores[0], r.prediction.binary_scores[0]);
    EXPECT_EQ(back->prediction.binary_scores[1].size(), 0);
    EXPECT_EQ(back->note, "chose pca10");
    EXPECT_EQ(back->trainable_parameters, 1234);
    ASSERT_TRUE(back->operator_size.has_value());
    EXPECT_EQ(back->operator_size->stored_values, 99);
    EXPECT_FALSE(c.load(2, "my method/x", 4).has_value());
    EXPECT_FALSE(c.load(1, "my method/x", 5).has_value());
}

TEST(SplitCheckpoint, NeverTrustsAnotherRunOrADamagedFile) {
    TempDir dir;
    const auto folder = dir.path() / "checkpoint";
    {
        const scx::SplitCheckpoint c(folder, "fp1", false);
        c.save(0, "raw", 0, record());
        c.save(0, "raw", 1, record());
    }
    // resume with the same fingerprint finds both
    const scx::SplitCheckpoint same(folder, "fp1", true);
    EXPECT_EQ(same.records_found(), 2);
    // flip one byte of a record: it is computed again, not read
    std::filesystem::path file;
    for (const auto& e : std::filesystem::directory_iterator(folder))
        if (e.path().extension() == ".split") file = e.path();
    std::string bytes;
    {
        std::ifstream in(file, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[bytes.size() / 2] ^= 0x10;
    std::ofstream(file, std::ios::binary) << bytes;
    const bool first = file.filename().string().find("s000") != std::string::npos;
    EXPECT_FALSE(same.load(0, "raw", first ? 0 : 1).has_value());
    EXPECT_TRUE(same.load(0, "raw", first ? 1 : 0).has_value());
    std::ofstream(file, std::ios::binary) << bytes.substr(0, 20); // torn
    EXPECT_FALSE(same.load(0, "raw", first ? 0 : 1).has_value());
    // another run's folder is refused on resume, emptied without
    EXPECT_THROW(scx::SplitCheckpoint(folder, "fp2", true), scx::Error);
    const scx::SplitCheckpoint fresh(folder, "fp2", false);
    EXPECT_EQ(fresh.records_found(), 0);
    EXPECT_FALSE(fresh.load(0, "raw", 1).has_value());
    fresh.remove();
    EXPECT_FALSE(std::filesystem::exists(folder));
}

} // namespace
