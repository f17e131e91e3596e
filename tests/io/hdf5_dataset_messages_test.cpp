// Dataset messages libhdf5 1.10 copies by the sizes and counts they declare (issue 23, item 5,
// found ahead of the fuzzers by reading what H5O decodes): a fill value's size, a filter
// pipeline's names and parameters, an attribute's value. The header walk (io/hdf5_structure_check.cpp,
// check_header_messages) refuses any that runs past its message before the dataset opens.
// Files are written here with the HDF5 C API (libver earliest, as h5py writes) and damaged here.
#include "scextract/core/error.hpp"
#include "scextract/io/hdf5.hpp"

#include "../support/file_bytes.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace scx {
namespace {

using h5::Handle;
using test::slurp;
using test::spit;
using test::TempDir;

constexpr std::int32_t kFill = 0x5a6b7c0d;

class DatasetMessages : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = (dir_ / "messages.h5").string();
        {
            Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
            H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
            Handle f(H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
            const hsize_t n = 40, chunk = 10;
            Handle space(H5Screate_simple(1, &n, nullptr));
            Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
            H5Pset_chunk(dcpl, 1, &chunk);
            H5Pset_deflate(dcpl, 4);
            H5Pset_fill_value(dcpl, H5T_NATIVE_INT32, &kFill);
            Handle d(H5Dcreate2(f, "d", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
            const std::vector<std::int32_t> v(40, 3);
            ASSERT_GE(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
            h5::write_int_array_attr(d, "shape", {5, 8, 13, 21, 34});
        }
        good_ = slurp(path_);
        ASSERT_EQ(outcome(good_), "");
    }

    /// Opens d and reads it and its attribute: "" when all came back as written, the error otherwise.
    std::string outcome(const std::string& bytes) const {
        spit(path_, bytes);
        try {
            Handle f = h5::open_file_read(path_);
            Handle d = h5::open_dataset(f, "d");
            if (h5::read_int_array_attr(d, "shape") != std::vector<std::int64_t>{5, 8, 13, 21, 34}) return "wrong attribute";
            return h5::read_ndarray(d).size() == 40 ? "" : "wrong data";
        } catch (const Error& e) {
            return e.what();
        }
    }
    [[nodiscard]] std::string refusal(const std::string& why) const { return path_ + ":/d: " + why + " (damaged file?)"; }

    TempDir dir_;
    std::string path_, good_;
};

TEST_F(DatasetMessages, FillValueLongerThanItsMessageIsRefused) {
    // fill value message version 2: version, allocation time, fill time, defined; size 4; the value
    std::string value(4, '\0');
    for (int i = 0; i < 4; ++i) value[static_cast<std::size_t>(i)] = static_cast<char>((kFill >> (8 * i)) & 0xff);
    const auto at = good_.find(std::string("\x04\x00\x00\x00", 4) + value);
    ASSERT_NE(at, std::string::npos);
    ASSERT_EQ(good_[at - 4], 2);
    auto bytes = good_;
    bytes[at + 1] = 0x01; // 260 bytes, in a message padded to 16
    EXPECT_EQ(outcome(bytes), refusal("a fill value of 260 bytes in a message of 16"));
}

TEST_F(DatasetMessages, FilterParametersOrNameRunningPastTheMessageAreRefused) {
    // pipeline version 1, deflate: id 1, name length 8, flags, 1 parameter, "deflate\0", level, padding
    const auto name = good_.find(std::string("deflate\0", 8));
    ASSERT_NE(name, std::string::npos);
    ASSERT_EQ(good_[name - 2], 1);
    auto bytes = good_;
    bytes[name - 2] = 0x7f; // 127 parameters
    EXPECT_EQ(outcome(bytes), refusal("a filter pipeline message shorter than its filters"));
    bytes = good_;
    bytes[name + 7] = 'X'; // libhdf5 takes the name's length with strlen
    EXPECT_EQ(outcome(bytes), refusal("a filter name not terminated within its message"));
}

TEST_F(DatasetMessages, AttributeValueLongerThanItsMessageIsRefused) {
    // after the name "shape": the int64 datatype, then the dataspace version 1: rank 1, a
    // maximum (flag 1), 5 reserved bytes, dimension 5, maximum 5
    const auto name = good_.find(std::string("shape\0", 6));
    ASSERT_NE(name, std::string::npos);
    const auto space = good_.find(std::string("\x01\x01\x01\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00", 16), name);
    ASSERT_NE(space, std::string::npos);
    auto bytes = good_;
    bytes[space + 8] = 50; // 50 int64 in a message that holds 5
    EXPECT_EQ(outcome(bytes), refusal("an attribute message shorter than its value"));
}

} // namespace
} // namespace scx
