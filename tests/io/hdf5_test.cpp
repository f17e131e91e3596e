// The HDF5 layer: no HDF5-DIAG print from any thread (the library is thread-safe, so each
// thread has its own auto-print setting), error stacks in one line, no object timestamps in
// the files we create (identical runs, identical bytes).

#include "scextract/core/error.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

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
