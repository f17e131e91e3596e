// NumPy .npy reader and writer. Files written by numpy 1.24 come from the forward-pass
// fixtures (tests/fixtures/make_forward_fixtures.py); malformed files are built here
// byte by byte; when a Python with numpy is available, numpy also reads what we write.

#include "scextract/io/npy.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using scx::test::error_of;
using scx::test::TempDir;

const fs::path kForward = fs::path(SCX_SOURCE_DIR) / "tests/fixtures/forward/d16_h4";

std::string file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A .npy file as numpy lays it out: magic, version, header length, header, data.
std::string npy_bytes(const std::string& header, const std::string& data, int major = 1) {
    std::string out = "\x93NUMPY";
    out.push_back(static_cast<char>(major));
    out.push_back('\0');
    const std::size_t n = header.size();
    out.push_back(static_cast<char>(n & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (major >= 2) {
        out.push_back(static_cast<char>((n >> 16) & 0xff));
        out.push_back(static_cast<char>((n >> 24) & 0xff));
    }
    return out + header + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
    return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

std::string parse_error(const std::string& bytes) {
    return error_of([&] {
        scx::parse_npy(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), "x.npy");
    });
}

TEST(Npy, ReadsNumpyFiles) {
    const auto lengths = scx::read_npy(kForward / "lengths.npy");
    EXPECT_EQ(lengths.dtype, scx::NpyDType::int64);
    EXPECT_EQ(lengths.shape, (std::vector<std::int64_t>{5}));
    EXPECT_EQ(lengths.to_int64(), (std::vector<std::int64_t>{20, 3, 11, 7, 16}));

    const auto ids = scx::read_npy(kForward / "gene_ids.npy");
    EXPECT_EQ(ids.shape, (std::vector<std::int64_t>{5, 20}));
    EXPECT_EQ(ids.to_int64().at(3 * 20 + 19), 49); // the pad id after cell 3's 7 tokens

    const auto values = scx::read_npy(kForward / "values.npy");
    EXPECT_EQ(values.dtype, scx::NpyDType::float32);
    const auto v = values.to_float();
    EXPECT_EQ(v.at(0), -2.0F); // <cls> position
    EXPECT_EQ(v.at(1), 600.0F);
    EXPECT_EQ(v.at(2), 512.0F);

    const auto h64 = scx::read_npy(kForward / "hidden_fp64.npy");
    EXPECT_EQ(h64.dtype, scx::NpyDType::float64);
    EXPECT_EQ(h64.shape, (std::vector<std::int64_t>{5, 20, 16}));
    const auto d = h64.to_double();
    const auto f = h64.to_float();
    ASSERT_EQ(d.size(), 5U * 20 * 16);
    for (std::size_t i = 0; i < d.size(); ++i) EXPECT_EQ(f[i], static_cast<float>(d[i]));

    const auto emb = scx::read_npy(kForward / "weights/encoder.embedding.weight.npy").to_matrix();
    EXPECT_EQ(emb.rows(), 50);
    EXPECT_EQ(emb.cols(), 16);
}

TEST(Npy, WriteMatchesNumpyLayout) {
    TempDir tmp;
    const std::vector<float> v{1.5F, -2.0F, 3.25F, 0.0F, 1e-30F, std::numeric_limits<float>::infinity()};
    const std::vector<std::int64_t> shape{2, 3};
    scx::write_npy(tmp / "a.npy", v.data(), shape);
    const auto bytes = file_bytes(tmp / "a.npy");
    ASSERT_GT(bytes.size(), 10U);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    EXPECT_EQ((10 + header_len) % 64, 0U);
    const std::string header = bytes.substr(10, header_len);
    EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0U) << header;
    EXPECT_EQ(header.back(), '\n');
    EXPECT_EQ(bytes.size(), 10 + header_len + v.size() * 4);
    // nothing but the file is left in the folder (the temporary was renamed into place)
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);

    const auto back = scx::read_npy(tmp / "a.npy");
    EXPECT_EQ(back.dtype, scx::NpyDType::float32);
    EXPECT_EQ(back.shape, shape);
    const auto f = back.to_float();
    EXPECT_EQ(std::memcmp(f.data(), v.data(), v.size() * 4), 0);
}

TEST(Npy, RoundTripShapes) {
    TempDir tmp;
    const float one = 7.0F;
    scx::write_npy(tmp / "scalar.npy", &one, std::vector<std::int64_t>{});
    auto a = scx::read_npy(tmp / "scalar.npy");
    EXPECT_TRUE(a.shape.empty());
    EXPECT_EQ(a.numel(), 1);
    EXPECT_EQ(a.to_float(), std::vector<float>{7.0F});
    EXPECT_NE(file_bytes(tmp / "scalar.npy").find("'shape': ()"), std::string::npos);

    const std::vector<float> three{1, 2, 3};
    scx::write_npy(tmp / "vec.npy", three.data(), std::vector<std::int64_t>{3});
    EXPECT_NE(file_bytes(tmp / "vec.npy").find("'shape': (3,)"), std::string::npos);
    EXPECT_EQ(scx::read_npy(tmp / "vec.npy").to_float(), three);

    scx::write_npy(tmp / "empty.npy", static_cast<const float*>(nullptr), std::vector<std::int64_t>{0, 4});
    a = scx::read_npy(tmp / "empty.npy");
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{0, 4}));
    EXPECT_EQ(a.numel(), 0);
    EXPECT_EQ(a.to_matrix().rows(), 0);

    const std::vector<std::int64_t> ids{-1, 0, 60696, std::numeric_limits<std::int64_t>::max()};
    scx::write_npy(tmp / "ids.npy", ids.data(), std::vector<std::int64_t>{2, 2});
    a = scx::read_npy(tmp / "ids.npy");
    EXPECT_EQ(a.dtype, scx::NpyDType::int64);
    EXPECT_EQ(a.to_int64(), ids);

    scx::RowMatrixF m(3, 2);
    m << 1, 2, 3, 4, 5, 6;
    scx::write_npy(tmp / "m.npy", m);
    EXPECT_EQ(scx::read_npy(tmp / "m.npy").to_matrix(), m);
    // overwrite in place
    m(0, 0) = -1;
    scx::write_npy(tmp / "m.npy", m);
    EXPECT_EQ(scx::read_npy(tmp / "m.npy").to_matrix(), m);
}

TEST(Npy, Int32AndVersion2Headers) {
    const std::vector<std::int32_t> v{-5, 0, 7, 2147483647};
    auto bytes = npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }          \n", raw(v));
    auto a = scx::parse_npy(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), "x.npy");
    EXPECT_EQ(a.dtype, scx::NpyDType::int32);
    EXPECT_EQ(a.to_int64(), (std::vector<std::int64_t>{-5, 0, 7, 2147483647}));
    EXPECT_EQ(a.to_double(), (std::vector<double>{-5, 0, 7, 2147483647}));

    const std::vector<double> d{0.5, -1.25};
    bytes = npy_bytes("{\"descr\": \"<f8\", \"shape\": (1, 2), \"fortran_order\": False}\n", raw(d), 2);
    a = scx::parse_npy(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), "x.npy");
    EXPECT_EQ(a.dtype, scx::NpyDType::float64);
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(a.to_double(), d);
    bytes = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }\n", raw(d), 3);
    EXPECT_EQ(parse_error(bytes), "");
}

TEST(Npy, MalformedFiles) {
    const std::string f4 = raw(std::vector<float>{1, 2, 3, 4, 5, 6});
    auto hdr = [](const std::string& descr, const std::string& order, const std::string& shape) {
        return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }\n";
    };
    EXPECT_EQ(parse_error("PK\x03\x04 not numpy at all"), "x.npy: not a .npy file (no \\x93NUMPY magic)");
    EXPECT_EQ(parse_error(""), "x.npy: not a .npy file (no \\x93NUMPY magic)");
    EXPECT_EQ(parse_error(npy_bytes(hdr("<f4", "False", "(2, 3)"), f4, 4)),
              "x.npy: .npy format version 4.0 is not supported (1.0, 2.0, 3.0 are)");
    EXPECT_NE(parse_error(npy_bytes(hdr("<f4", "False", "(2, 3)"), "").substr(0, 40)).find("truncated .npy header"),
              std::string::npos);
    EXPECT_EQ(parse_error(npy_bytes(hdr("<f4", "False", "(2, 3)"), f4.substr(0, 20))),
              "x.npy: truncated: data for shape (2, 3) float32 needs 24 bytes but the file has 20");
    EXPECT_EQ(parse_error(npy_bytes(hdr("<f4", "False", "(2, 2)"), f4)),
              "x.npy: size mismatch: data for shape (2, 2) float32 needs 16 bytes but the file has 24");
    EXPECT_EQ(parse_error(npy_bytes(hdr(">f4", "False", "(2, 3)"), f4)),
              "x.npy: big-endian data ('>f4') is not supported; save it little-endian");
    EXPECT_EQ(parse_error(npy_bytes(hdr("<f4", "True", "(2, 3)"), f4)),
              "x.npy: Fortran-order arrays are not supported; save with np.ascontiguousarray");
    EXPECT_NE(parse_error(npy_bytes(hdr("<f2", "False", "(12,)"), f4)).find("dtype '<f2' is not supported"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes(hdr("|b1", "False", "(24,)"), f4)).find("dtype '|b1' is not supported"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes(hdr("<U3", "False", "(2,)"), f4)).find("dtype '<U3' is not supported"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }\n", f4))
                  .find("structured dtypes"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes("{'descr': '<f4', 'shape': (6,), }\n", f4)).find("missing key(s): fortran_order"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}\n", f4))
                  .find("unexpected key 'x'"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes(hdr("<f4", "False", "(2, -3)"), f4)).find("non-negative integers"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes(hdr("<f4", "False", "[2, 3]"), f4)).find("shape is not a tuple"), std::string::npos);
    EXPECT_NE(parse_error(npy_bytes(hdr("<f4", "Maybe", "(2, 3)"), f4)).find("neither True nor False"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", f4)).find("malformed"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes("{'descr: '<f4'}", f4)).find("malformed .npy header"), std::string::npos);
    EXPECT_NE(parse_error(npy_bytes(hdr("<f4", "False", "(99999999999999999999,)"), f4)).find("too large"),
              std::string::npos);
    EXPECT_NE(parse_error(npy_bytes(hdr("<f4", "False", "(4611686018427387904, 4)"), f4)).find("too large"),
              std::string::npos);
}

TEST(Npy, ConversionAndFileErrors) {
    TempDir tmp;
    EXPECT_NE(error_of([&] { scx::read_npy(tmp / "missing.npy"); }).find("missing.npy: cannot open .npy file"),
              std::string::npos);
    const auto values = scx::read_npy(kForward / "values.npy");
    EXPECT_NE(error_of([&] { (void)values.to_int64(); }).find("values.npy: expected an integer array, found float32"),
              std::string::npos);
    const auto lengths = scx::read_npy(kForward / "lengths.npy");
    EXPECT_NE(error_of([&] { (void)lengths.to_matrix(); }).find("lengths.npy: expected a 2-D array, found shape (5,)"),
              std::string::npos);
    const float x = 1.0F;
    EXPECT_NE(error_of([&] { scx::write_npy(tmp / "no/such/dir/a.npy", &x, std::vector<std::int64_t>{1}); })
                  .find("does not exist"),
              std::string::npos);
    EXPECT_NE(error_of([&] { scx::write_npy(tmp / "neg.npy", &x, std::vector<std::int64_t>{-1}); })
                  .find("negative dimension"),
              std::string::npos);
    EXPECT_FALSE(fs::exists(tmp / "neg.npy"));
}

/// The venv python the fixture scripts use, or any python3 that has numpy.
std::string python_with_numpy() {
    for (const auto& py : {std::string(SCX_SOURCE_DIR) + "/.venv-torch/bin/python",
                                 std::string(SCX_SOURCE_DIR) + "/.venv/bin/python", std::string("python3")}) {
        const std::string cmd = "\"" + py + "\" -c \"import numpy\" > /dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0) return py;
    }
    return "";
}

TEST(Npy, NumpyReadsWhatWeWrite) {
    const auto py = python_with_numpy();
    if (py.empty()) GTEST_SKIP() << "no python with numpy";
    TempDir tmp;
    scx::RowMatrixF m(3, 4);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = 0.1F * static_cast<float>(i) - 0.5F;
    scx::write_npy(tmp / "m.npy", m);
    const std::vector<std::int64_t> ids{3, -4, 60000};
    scx::write_npy(tmp / "ids.npy", ids.data(), std::vector<std::int64_t>{3});
    // numpy loads ours, checks dtype / shape / values, and saves a copy we read back
    std::string literal; // the values, printed with enough digits to parse back to the same float32
    for (Eigen::Index i = 0; i < m.size(); ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g,", static_cast<double>(m.data()[i]));
        literal += buf;
    }
    const std::string script = "import numpy as np, sys\n"
                               "d = sys.argv[1]\n"
                               "m = np.load(d + '/m.npy')\n"
                               "assert m.dtype == np.float32 and m.shape == (3, 4) and m.flags.c_contiguous\n"
                               "assert np.array_equal(m, np.array([" + literal + "], dtype=np.float32).reshape(3, 4))\n"
                               "i = np.load(d + '/ids.npy')\n"
                               "assert i.dtype == np.int64 and i.tolist() == [3, -4, 60000]\n"
                               "np.save(d + '/m2.npy', m * 2)\n";
    std::ofstream(tmp / "check.py") << script;
    const std::string cmd = "\"" + py + "\" " + (tmp / "check.py").string() + " " + tmp.path().string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const auto back = scx::read_npy(tmp / "m2.npy").to_matrix();
    EXPECT_EQ(back, (m * 2.0F).eval());
}

} // namespace
