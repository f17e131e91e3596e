// The HDF5 layer: no HDF5-DIAG print from any thread (the library is thread-safe, so each
// thread has its own auto-print setting), error stacks in one line, no object timestamps in
// the files we create (identical runs, identical bytes).

#include "scextract/core/error.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace {

using scx::h5::Handle;

TEST(Hdf5, NoDiagnosticsPrintedFromAnotherThread) {
    scx::test::TempDir dir;
    const auto path = (dir / "x.h5").string();
    { Handle f = scx::h5::create_file(path); }
    Handle f = scx::h5::open_file_read(path);
    std::string message;
    testing::internal::CaptureStderr();
    std::thread t([&] { // a fresh thread, as the apply read-ahead is
        try {
            scx::h5::open_dataset(f, "missing");
        } catch (const scx::Error& e) {
            message = e.what();
        }
    });
    t.join();
    const auto printed = testing::internal::GetCapturedStderr();
    EXPECT_EQ(printed.find("HDF5-DIAG"), std::string::npos) << printed;
    EXPECT_NE(message.find("x.h5"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(Hdf5, CreatedObjectsCarryNoTimestamps) {
    scx::test::TempDir dir;
    const auto path = (dir / "t.h5").string();
    Handle f = scx::h5::create_file(path);
    Handle g = scx::h5::create_group(f, "obs");
    scx::h5::write_ndarray(g, "v", scx::NdArray::from(std::vector<float>{1, 2, 3}), {});
    scx::h5::write_ndarray(g, "s", scx::NdArray::from(std::vector<float>{4}, {}), {});
    Handle d = scx::h5::open_dataset(g, "v");
    Handle root(H5Gopen2(f, "/", H5P_DEFAULT));
    for (const hid_t obj : {hid_t(d), hid_t(g), hid_t(root)}) {
        H5O_info_t info;
        ASSERT_GE(H5Oget_info2(obj, &info, H5O_INFO_TIME), 0);
        EXPECT_EQ(info.ctime, 0) << scx::h5::object_path(obj); // no timestamp stored
        EXPECT_EQ(info.mtime, 0) << scx::h5::object_path(obj);
    }
}

TEST(Hdf5, ErrorsNameTheOutputNotItsTemporary) {
    scx::test::TempDir dir;
    const auto path = (dir / ".cells.h5ad.tmp-12345").string();
    Handle f = scx::h5::create_file(path);
    EXPECT_EQ(scx::h5::file_name(f), (dir / "cells.h5ad").string());
    Handle other = scx::h5::create_file((dir / ".plain.h5").string()); // a hidden file, not ours
    EXPECT_EQ(scx::h5::file_name(other), (dir / ".plain.h5").string());
}

} // namespace

namespace {

/// Every byte of the file at @p path.
std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A 2-D float dataset of @p rows x 3 written by RowAppender in blocks of uneven sizes (whole
/// chunks, part chunks, a block spanning several chunks), with @p threads threads.
void write_appended(const std::string& path, std::int64_t rows, int gzip_level, int threads) {
    Handle f = scx::h5::create_file(path);
    scx::h5::WriteSettings s;
    s.gzip_level = gzip_level;
    s.chunk_elems = 40; // 40 floats: 13 rows of 3 per chunk
    Handle d = scx::h5::create_ndarray_dataset(f, "m", scx::DType::float32, {rows, 3}, s);
    scx::h5::RowAppender a(d, scx::DType::float32, threads);
    std::int64_t row = 0;
    for (const std::int64_t block : {1, 12, 13, 40, 7, 100}) {
        const auto n = std::min(block, rows - row);
        std::vector<double> values(static_cast<std::size_t>(n * 3)); // converted to float on the way
        for (std::int64_t i = 0; i < n * 3; ++i) values[static_cast<std::size_t>(i)] = 0.25 * static_cast<double>(row * 3 + i) - 7.0;
        a.append(values.data(), n);
        row += n;
        if (row == rows) break;
    }
    ASSERT_EQ(a.rows_appended(), rows);
    a.finish();
}

} // namespace

TEST(RowAppender, CompressedChunksReadBackThroughHdf5sOwnFilter) {
    scx::test::TempDir dir;
    for (const int gzip : {0, 4}) {
        const auto path = (dir / fmt::format("a{}.h5", gzip)).string();
        write_appended(path, 150, gzip, 2); // 150 = 11 whole chunks of 13 rows and an edge chunk of 7
        Handle f = scx::h5::open_file_read(path);
        Handle d = scx::h5::open_dataset(f, "m");
        Handle dcpl(H5Dget_create_plist(d));
        EXPECT_EQ(H5Pget_nfilters(dcpl), gzip > 0 ? 1 : 0);
        std::vector<float> back(150 * 3, -1.0F);
        ASSERT_GE(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()), 0); // zlib inflates
        for (std::size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], 0.25F * static_cast<float>(i) - 7.0F) << i << " gzip " << gzip;
    }
}

TEST(RowAppender, FileBytesDoNotFollowTheThreadCount) {
    scx::test::TempDir dir;
    const auto one = (dir / "one.h5").string(), three = (dir / "three.h5").string();
    write_appended(one, 161, 4, 1);
    write_appended(three, 161, 4, 3);
    EXPECT_EQ(file_bytes(one), file_bytes(three));
}

TEST(RowAppender, RefusesRowsPastTheEndAndAnUnfinishedEdge) {
    scx::test::TempDir dir;
    Handle f = scx::h5::create_file((dir / "e.h5").string());
    scx::h5::WriteSettings s;
    s.chunk_elems = 10;
    Handle d = scx::h5::create_ndarray_dataset(f, "v", scx::DType::float64, {25}, s);
    scx::h5::RowAppender a(d, scx::DType::float64, 2);
    const std::vector<double> v(30, 1.0);
    EXPECT_THROW(a.append(v.data(), 30), scx::Error);
    a.append(v.data(), 12);
    EXPECT_THROW(a.finish(), scx::Error); // rows 12-24 never came
}
