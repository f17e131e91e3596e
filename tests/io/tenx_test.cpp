// 10x readers: MatrixMarket folders and Cell Ranger HDF5. Inputs are written by the
// tests themselves; the expected values for the small folder were checked against
// scanpy 1.11.5's read_10x_mtx (with and without gex_only).

#include "scextract/io/hdf5.hpp"
#include "scextract/io/tenx.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

using scx::test::error_of;
using scx::test::TempDir;
using scx::test::write_gz_file;
using scx::test::write_text_file;

std::vector<float> dense(const scx::Dataset& d) {
    return scx::to_dense(d.matrix);
}

std::vector<std::string> strings(const scx::DataFrame& df, const std::string& column) {
    const auto* c = df.find(column);
    if (!c) return {};
    return std::get<scx::StringArray>(*c).values;
}

// 5 features (one antibody, duplicated symbols) x 3 cells, as Cell Ranger v3 writes them.
const std::string kFeatures = "ENSG1\tGeneA\tGene Expression\n"
                              "ENSG2\tGeneB\tGene Expression\n"
                              "ENSG3\tGeneA\tGene Expression\n"
                              "AB1\tCD3\tAntibody Capture\n"
                              "ENSG5\tGeneA-1\tGene Expression\n";
const std::string kBarcodes = "AAAC-1\nAAAG-1\nAAAT-1\n";
const std::string kHeader = "%%MatrixMarket matrix coordinate integer general\n%metadata_json: {}\n";
// The last cell lists gene 4 before gene 1, so its row must be sorted.
const std::string kEntries = "1 1 5\n3 1 2\n4 1 7\n2 2 1\n5 2 3\n4 3 9\n1 3 4\n";
const std::vector<float> kDenseAll = {5, 0, 2, 7, 0, 0, 1, 0, 0, 3, 4, 0, 0, 9, 0};
const std::vector<float> kDenseGex = {5, 0, 2, 0, 0, 1, 0, 3, 4, 0, 0, 0};

/// Writes a gzipped v3 folder; @p matrix replaces the whole matrix.mtx text when given.
fs::path write_v3_folder(const TempDir& tmp, const std::string& matrix = kHeader + "5 3 7\n" + kEntries) {
    const auto dir = tmp / "filtered_feature_bc_matrix";
    write_gz_file(dir / "features.tsv.gz", kFeatures);
    write_gz_file(dir / "barcodes.tsv.gz", kBarcodes);
    write_gz_file(dir / "matrix.mtx.gz", matrix);
    return dir;
}

/// The small example as scanpy's read_10x_mtx gives it with gex_only (our default);
/// every reader of the v3 layout must give the same.
void expect_small_v3_gene_expression(const scx::Dataset& d) {
    EXPECT_EQ(d.matrix.n_rows, 3);
    EXPECT_EQ(d.matrix.n_cols, 4);
    EXPECT_EQ(dense(d), kDenseGex);
    EXPECT_EQ(d.obs_names, (std::vector<std::string>{"AAAC-1", "AAAG-1", "AAAT-1"}));
    // GeneA-1 already exists, so the second GeneA becomes GeneA-2 (anndata's rule).
    EXPECT_EQ(d.var_names, (std::vector<std::string>{"GeneA", "GeneB", "GeneA-2", "GeneA-1"}));
    EXPECT_EQ(strings(d.var, "gene_ids"), (std::vector<std::string>{"ENSG1", "ENSG2", "ENSG3", "ENSG5"}));
    EXPECT_EQ(strings(d.var, "feature_types"), std::vector<std::string>(4, "Gene Expression"));
}

TEST(TenxMtx, ReadsGzippedV3FolderLikeScanpy) {
    TempDir tmp;
    const auto d = scx::read_10x_mtx(write_v3_folder(tmp).string());
    EXPECT_EQ(d.format, "10x-mtx");
    EXPECT_EQ(d.matrix_source, "matrix.mtx.gz");
    expect_small_v3_gene_expression(d);
    EXPECT_NO_THROW(d.matrix.validate("test"));
    EXPECT_EQ(d.obs.index, d.obs_names);
    EXPECT_EQ(d.var.index, d.var_names);
}

TEST(TenxMtx, KeepsAllFeaturesWhenAskedAndSortsRows) {
    TempDir tmp;
    scx::DatasetReadOptions opt;
    opt.gene_expression_only = false;
    const auto d = scx::read_10x_mtx(write_v3_folder(tmp).string(), opt);
    EXPECT_EQ(d.matrix.n_cols, 5);
    EXPECT_EQ(dense(d), kDenseAll);
    EXPECT_EQ(d.matrix.indices, (std::vector<std::int32_t>{0, 2, 3, 1, 4, 0, 3}));
    EXPECT_EQ(d.var_names, (std::vector<std::string>{"GeneA", "GeneB", "GeneA-2", "CD3", "GeneA-1"}));
    EXPECT_EQ(strings(d.var, "feature_types")[3], "Antibody Capture");
}

TEST(TenxMtx, ReadsPlainLegacyFolderWithRealValues) {
    TempDir tmp;
    const auto dir = tmp / "hg19";
    write_text_file(dir / "genes.tsv", "ENSG1\tA\nENSG2\tB\r\n");
    write_text_file(dir / "barcodes.tsv", "c1\nc2\nc3\n");
    write_text_file(dir / "matrix.mtx", "%%MatrixMarket matrix coordinate real general\n% a comment\n%\n2 3 3\n"
                                        "2 3 1.5e0\n1 1 0.25\n2 1 -2\n");
    const auto d = scx::read_10x_mtx(dir.string());
    EXPECT_EQ(d.matrix_source, "matrix.mtx");
    EXPECT_EQ(dense(d), (std::vector<float>{0.25F, -2, 0, 0, 0, 1.5F}));
    EXPECT_EQ(d.var_names, (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(strings(d.var, "gene_ids"), (std::vector<std::string>{"ENSG1", "ENSG2"}));
    EXPECT_EQ(d.var.find("feature_types"), nullptr); // v2 has no feature types
}

TEST(TenxMtx, ReadsPatternMatrices) {
    TempDir tmp;
    const auto dir = write_v3_folder(tmp, "%%MatrixMarket matrix coordinate pattern general\n5 3 2\n2 1\n1 3\n");
    const auto d = scx::read_10x_mtx(dir.string());
    EXPECT_EQ(dense(d), (std::vector<float>{0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST(TenxMtx, MakeIndexUniqueMatchesAnndata) {
    // Expected values from anndata 0.12.19's utils.make_index_unique.
    EXPECT_EQ(scx::make_index_unique({"a", "a", "b", "a-1", "a"}),
              (std::vector<std::string>{"a", "a-2", "b", "a-1", "a-3"}));
    EXPECT_EQ(scx::make_index_unique({"x", "y", "x", "x-2", "x", "y"}),
              (std::vector<std::string>{"x", "y", "x-1", "x-2", "x-3", "y-1"}));
    EXPECT_EQ(scx::make_index_unique({"u", "v"}), (std::vector<std::string>{"u", "v"}));
    EXPECT_EQ(scx::make_index_unique({"a", "a"}, "."), (std::vector<std::string>{"a", "a.1"}));
}

struct BadMatrix {
    const char* label;
    std::string matrix;
    const char* expected; ///< fragment of the message, after the file name
};

// Names the case in test output (gtest would otherwise dump the struct's raw bytes).
void PrintTo(const BadMatrix& b, std::ostream* os) {
    *os << b.label;
}

class TenxMtxBadMatrix : public ::testing::TestWithParam<BadMatrix> {};

TEST_P(TenxMtxBadMatrix, ErrorNamesFileAndProblem) {
    TempDir tmp;
    const auto dir = write_v3_folder(tmp, GetParam().matrix);
    const auto msg = error_of([&] { scx::read_10x_mtx(dir.string()); });
    EXPECT_NE(msg.find((dir / "matrix.mtx.gz").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(GetParam().expected), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    TenxMtx, TenxMtxBadMatrix,
    ::testing::Values(
        BadMatrix{"no_header", "5 3 7\n" + kEntries, "line 1: expected a header"},
        BadMatrix{"array_format", "%%MatrixMarket matrix array integer general\n5 3\n",
                  "line 1: MatrixMarket format 'array'"},
        BadMatrix{"symmetric", "%%MatrixMarket matrix coordinate integer symmetric\n5 3 7\n" + kEntries, "symmetry"},
        BadMatrix{"bad_size_line", kHeader + "5 3\n" + kEntries, "line 3: expected 3 sizes"},
        BadMatrix{"row_out_of_range", kHeader + "5 3 7\n" + kEntries.substr(0, 36) + "6 3 1\n",
                  "line 10: row 6 is outside [1, 5]"},
        BadMatrix{"column_out_of_range", kHeader + "5 3 7\n" + kEntries.substr(0, 36) + "1 4 1\n",
                  "line 10: column 4 is outside [1, 3]"},
        BadMatrix{"zero_index", kHeader + "5 3 7\n0 1 1\n", "line 4: row 0 is outside"},
        BadMatrix{"too_few_entries", kHeader + "5 3 8\n" + kEntries, "declares 8 entries but the file has 7"},
        BadMatrix{"too_many_entries", kHeader + "5 3 6\n" + kEntries, "line 10: more entries than the 6"},
        BadMatrix{"bad_number", kHeader + "5 3 7\n1 1 x\n", "line 4: 'x' is not an integer"},
        BadMatrix{"real_in_integer_file", kHeader + "5 3 7\n1 1 2.5\n", "line 4: '2.5' is not an integer"},
        BadMatrix{"missing_value", kHeader + "5 3 7\n1 1\n", "line 4: expected 3 numbers"},
        BadMatrix{"duplicate_entry", kHeader + "5 3 8\n" + kEntries + "3 1 1\n",
                  "(row 3, column 1) appears more than once (lines 5 and 11)"},
        BadMatrix{"rows_differ_from_features", kHeader + "4 3 1\n1 1 1\n", "declares 4 rows (features)"},
        BadMatrix{"columns_differ_from_barcodes", kHeader + "5 2 1\n1 1 1\n", "declares 2 columns (cells)"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(TenxMtx, TruncatedGzipIsAnError) {
    TempDir tmp;
    const auto dir = write_v3_folder(tmp);
    // A gzip stream cut in half: zlib only notices at the end of the data.
    const auto path = dir / "matrix.mtx.gz";
    const auto size = fs::file_size(path);
    fs::resize_file(path, size / 2);
    const auto msg = error_of([&] { scx::read_10x_mtx(dir.string()); });
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
}

TEST(TenxMtx, MissingFilesAndFoldersAreNamed) {
    TempDir tmp;
    const auto dir = write_v3_folder(tmp);
    fs::remove(dir / "barcodes.tsv.gz");
    auto msg = error_of([&] { scx::read_10x_mtx(dir.string()); });
    EXPECT_NE(msg.find(dir.string() + ": no barcodes.tsv"), std::string::npos) << msg;
    msg = error_of([&] { scx::read_10x_mtx((tmp / "nowhere").string()); });
    EXPECT_NE(msg.find("nowhere: no such directory"), std::string::npos) << msg;
}

TEST(TenxMtx, BadFeatureLinesAreNamed) {
    TempDir tmp;
    const auto dir = write_v3_folder(tmp);
    write_gz_file(dir / "features.tsv.gz", "ENSG1\tGeneA\tGene Expression\nENSG2\n");
    const auto msg = error_of([&] { scx::read_10x_mtx(dir.string()); });
    EXPECT_NE(msg.find((dir / "features.tsv.gz").string() + ": line 2: expected at least 2"), std::string::npos) << msg;
}

TEST(TenxMtx, OnlyAntibodiesIsAnErrorUnlessAllFeaturesAreKept) {
    TempDir tmp;
    const auto dir = tmp / "adt";
    write_gz_file(dir / "features.tsv.gz", "AB1\tCD3\tAntibody Capture\n");
    write_gz_file(dir / "barcodes.tsv.gz", "c1\n");
    write_gz_file(dir / "matrix.mtx.gz", kHeader + "1 1 1\n1 1 4\n");
    const auto msg = error_of([&] { scx::read_10x_mtx(dir.string()); });
    EXPECT_NE(msg.find("no 'Gene Expression' features (types present: Antibody Capture)"), std::string::npos) << msg;
    scx::DatasetReadOptions opt;
    opt.gene_expression_only = false;
    EXPECT_EQ(dense(scx::read_10x_mtx(dir.string(), opt)), (std::vector<float>{4}));
}

/// The third number of the size line of a gzipped MatrixMarket file.
std::int64_t mtx_declared_nnz(const fs::path& p) {
    gzFile f = gzopen(p.c_str(), "rb");
    if (!f) return -1;
    char buf[4096];
    std::int64_t nnz = -1;
    while (gzgets(f, buf, sizeof buf)) {
        if (buf[0] == '%') continue;
        long long r = 0, c = 0, n = 0;
        if (std::sscanf(buf, "%lld %lld %lld", &r, &c, &n) == 3) nnz = n;
        break;
    }
    gzclose(f);
    return nnz;
}

TEST(TenxMtx, ReadsSoupxPbmc4k) {
    // GPL-2 data, read in place from the shared folder and never copied into the repository.
    const fs::path dir = fs::path(SCX_SHARED_DATA_DIR) / "soupx_pbmc4k" / "filtered_feature_bc_matrix";
    if (!fs::exists(dir / "matrix.mtx.gz")) GTEST_SKIP() << "shared data not found: " << dir;
    const auto expected_nnz = mtx_declared_nnz(dir / "matrix.mtx.gz");
    ASSERT_GT(expected_nnz, 0);
    const auto d = scx::read_10x_mtx(dir.string());
    EXPECT_EQ(d.matrix.n_rows, 2170);
    EXPECT_EQ(d.matrix.n_cols, 33694);
    EXPECT_EQ(d.matrix.nnz(), expected_nnz);
    EXPECT_NO_THROW(d.matrix.validate("soupx"));
    EXPECT_EQ(d.obs_names.front(), "GCGAGAAGTTCTGGTA");
    EXPECT_EQ(d.var_names.front(), "RP11-34P13.3");
    EXPECT_EQ(static_cast<std::int64_t>(d.var_names.size()), d.matrix.n_cols);
    for (std::int64_t r = 0; r < d.matrix.n_rows; ++r) {
        const auto idx = d.matrix.row_indices(r);
        ASSERT_TRUE(std::is_sorted(idx.begin(), idx.end())) << "row " << r;
    }
}

// ---- Cell Ranger HDF5, written with the HDF5 C API in Cell Ranger's layout ----

using scx::h5::Handle;

/// Fixed-length byte strings, as Cell Ranger writes them.
void put_strings(hid_t loc, const char* name, const std::vector<std::string>& values) {
    std::size_t len = 1;
    for (const auto& v : values) len = std::max(len, v.size());
    std::vector<char> buf(len * values.size(), '\0');
    for (std::size_t i = 0; i < values.size(); ++i)
        std::copy(values[i].begin(), values[i].end(), buf.begin() + i * len);
    Handle type(H5Tcopy(H5T_C_S1));
    H5Tset_size(type, len);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    const hsize_t n = values.size();
    Handle space(H5Screate_simple(1, &n, nullptr));
    Handle d(H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_GE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), 0);
}

template <class T>
void put_numbers(hid_t loc, const char* name, const std::vector<T>& values, hid_t file_type, hid_t mem_type) {
    const hsize_t n = values.size();
    Handle space(H5Screate_simple(1, &n, nullptr));
    Handle d(H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_GE(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
}

/// The small example above as genes x cells CSC (cells are the compressed axis).
struct Csc {
    std::vector<std::int32_t> data = {5, 2, 7, 1, 3, 4, 9};
    std::vector<std::int64_t> indices = {0, 2, 3, 1, 4, 0, 3};
    std::vector<std::int64_t> indptr = {0, 3, 5, 7};
    std::vector<std::int32_t> shape = {5, 3};
    std::vector<std::string> barcodes = {"AAAC-1", "AAAG-1", "AAAT-1"};
};

void put_csc(hid_t g, const Csc& m) {
    put_numbers(g, "data", m.data, H5T_STD_I32LE, H5T_NATIVE_INT32);
    put_numbers(g, "indices", m.indices, H5T_STD_I64LE, H5T_NATIVE_INT64);
    put_numbers(g, "indptr", m.indptr, H5T_STD_I64LE, H5T_NATIVE_INT64);
    put_numbers(g, "shape", m.shape, H5T_STD_I32LE, H5T_NATIVE_INT32);
    put_strings(g, "barcodes", m.barcodes);
}

fs::path write_v3_h5(const TempDir& tmp, const Csc& m = {}) {
    const auto path = tmp / "filtered_feature_bc_matrix.h5";
    Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    Handle g(H5Gcreate2(f, "matrix", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    put_csc(g, m);
    Handle feat(H5Gcreate2(g, "features", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    put_strings(feat, "id", {"ENSG1", "ENSG2", "ENSG3", "AB1", "ENSG5"});
    put_strings(feat, "name", {"GeneA", "GeneB", "GeneA", "CD3", "GeneA-1"});
    put_strings(feat, "feature_type",
                {"Gene Expression", "Gene Expression", "Gene Expression", "Antibody Capture", "Gene Expression"});
    put_strings(feat, "genome", {"GRCh38", "GRCh38", "GRCh38", "", "GRCh38"});
    put_strings(feat, "_all_tag_keys", {"genome"});
    return path;
}

TEST(TenxH5, ReadsV3LayoutLikeTheMtxFolder) {
    TempDir tmp;
    const auto d = scx::read_10x_h5(write_v3_h5(tmp).string());
    EXPECT_EQ(d.format, "10x-h5");
    EXPECT_EQ(d.matrix_source, "filtered_feature_bc_matrix.h5");
    expect_small_v3_gene_expression(d);
    EXPECT_EQ(strings(d.var, "genome"), std::vector<std::string>(4, "GRCh38"));
    EXPECT_EQ(d.var.find("_all_tag_keys"), nullptr);

    // The same data through the MatrixMarket reader gives the same matrix.
    const auto mtx = scx::read_10x_mtx(write_v3_folder(tmp).string());
    EXPECT_EQ(mtx.matrix.indptr, d.matrix.indptr);
    EXPECT_EQ(mtx.matrix.indices, d.matrix.indices);
    EXPECT_EQ(mtx.matrix.values, d.matrix.values);
}

TEST(TenxH5, KeepsAllFeaturesWhenAsked) {
    TempDir tmp;
    scx::DatasetReadOptions opt;
    opt.gene_expression_only = false;
    const auto d = scx::read_10x_h5(write_v3_h5(tmp).string(), opt);
    EXPECT_EQ(dense(d), kDenseAll);
    EXPECT_EQ(d.var_names, (std::vector<std::string>{"GeneA", "GeneB", "GeneA-2", "CD3", "GeneA-1"}));
    EXPECT_EQ(strings(d.var, "feature_types")[3], "Antibody Capture");
}

TEST(TenxH5, ReadsProbeBarcodeMatrices) {
    TempDir tmp;
    const auto path = write_v3_h5(tmp);
    {
        // Probe-based (Flex) matrices name the probe in id and the gene in gene_id.
        Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
        Handle feat(H5Gopen2(f, "matrix/features", H5P_DEFAULT));
        put_strings(feat, "gene_id", {"G1", "G2", "G3", "G4", "G5"});
        Handle g(H5Gopen2(f, "matrix", H5P_DEFAULT));
        put_numbers(g, "filtered_barcodes", std::vector<std::int8_t>{1, 0, 1}, H5T_STD_I8LE, H5T_NATIVE_INT8);
    }
    const auto d = scx::read_10x_h5(path.string());
    EXPECT_EQ(strings(d.var, "gene_ids"), (std::vector<std::string>{"G1", "G2", "G3", "G5"}));
    EXPECT_EQ(strings(d.var, "probe_ids"), (std::vector<std::string>{"ENSG1", "ENSG2", "ENSG3", "ENSG5"}));
    ASSERT_NE(d.obs.find("filtered_barcodes"), nullptr);
    const auto& flags = std::get<scx::NdArray>(*d.obs.find("filtered_barcodes"));
    EXPECT_EQ(flags.dtype, scx::DType::bool_);
    EXPECT_EQ(flags.at_int(1), 0);
    EXPECT_EQ(flags.at_int(2), 1);
}

TEST(TenxH5, SortsUnsortedIndicesAndRefusesDuplicates) {
    TempDir tmp;
    Csc m;
    m.indices = {3, 2, 0, 4, 1, 3, 0}; // each cell's genes reversed
    m.data = {7, 2, 5, 3, 1, 9, 4};
    scx::DatasetReadOptions opt;
    opt.gene_expression_only = false;
    EXPECT_EQ(dense(scx::read_10x_h5(write_v3_h5(tmp, m).string(), opt)), kDenseAll);

    m.indices = {0, 2, 2, 1, 4, 0, 3};
    const auto path = write_v3_h5(tmp, m);
    const auto msg = error_of([&] { scx::read_10x_h5(path.string()); });
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("gene 2 appears twice in cell 0"), std::string::npos) << msg;
}

TEST(TenxH5, BadInputsNameTheFile) {
    TempDir tmp;
    const auto expect_error = [&](const Csc& m, const std::string& fragment) {
        const auto path = write_v3_h5(tmp, m);
        const auto msg = error_of([&] { scx::read_10x_h5(path.string()); });
        EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    };
    Csc out_of_range;
    out_of_range.indices[4] = 5;
    expect_error(out_of_range, "column index 5 at position 4 is outside [0, 5)");
    Csc short_indptr;
    short_indptr.indptr = {0, 3, 7};
    expect_error(short_indptr, "/matrix/indptr: 3 entries but shape says 3 cells");
    Csc bad_end;
    bad_end.indptr = {0, 3, 5, 6};
    expect_error(bad_end, "indptr ends at 6");
    Csc few_barcodes;
    few_barcodes.barcodes = {"a", "b"};
    expect_error(few_barcodes, "/matrix/barcodes: 2 entries but the matrix has 3 cells");
}

TEST(TenxH5, RefusesFilesThatAreNotCellRangerMatrices) {
    TempDir tmp;
    const auto path = tmp / "not10x.h5";
    {
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        Handle g(H5Gcreate2(f, "obs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    }
    auto msg = error_of([&] { scx::read_10x_h5(path.string()); });
    EXPECT_NE(msg.find(path.string() + ": not a Cell Ranger HDF5 matrix"), std::string::npos) << msg;

    write_text_file(tmp / "text.h5", "hello");
    msg = error_of([&] { scx::read_10x_h5((tmp / "text.h5").string()); });
    EXPECT_NE(msg.find("text.h5"), std::string::npos) << msg;
}

void write_v2_genome(hid_t f, const char* genome) {
    Handle g(H5Gcreate2(f, genome, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    Csc m;
    m.data = {5, 2, 1, 4};
    m.indices = {0, 2, 1, 0};
    m.indptr = {0, 2, 3, 4};
    m.shape = {3, 3};
    put_csc(g, m);
    put_strings(g, "genes", {"ENSG1", "ENSG2", "ENSG3"});
    put_strings(g, "gene_names", {"GeneA", "GeneB", "GeneA"});
}

TEST(TenxH5, ReadsLegacyV2LayoutWithOneGenome) {
    TempDir tmp;
    const auto path = tmp / "v2.h5";
    {
        Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        write_v2_genome(f, "hg19");
    }
    const auto d = scx::read_10x_h5(path.string());
    EXPECT_EQ(dense(d), (std::vector<float>{5, 0, 2, 0, 1, 0, 4, 0, 0}));
    EXPECT_EQ(d.var_names, (std::vector<std::string>{"GeneA", "GeneB", "GeneA-1"}));
    EXPECT_EQ(strings(d.var, "gene_ids"), (std::vector<std::string>{"ENSG1", "ENSG2", "ENSG3"}));
    EXPECT_EQ(d.var.find("feature_types"), nullptr);

    const auto two = tmp / "v2_two.h5";
    {
        Handle f(H5Fcreate(two.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        write_v2_genome(f, "hg19");
        write_v2_genome(f, "mm10");
    }
    const auto msg = error_of([&] { scx::read_10x_h5(two.string()); });
    EXPECT_NE(msg.find("several genomes (hg19, mm10)"), std::string::npos) << msg;
}

} // namespace
