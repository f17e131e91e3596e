#pragma once
// Scratch directories and files for tests that write their own inputs.

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace scx::test {

/// A fresh directory under the system temp directory, named after the running test and
/// the process, and removed (with everything in it) on destruction.
class TempDir {
  public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = "scx_";
        if (info != nullptr) name += std::string(info->test_suite_name()) + "_" + info->name() + "_";
        name += std::to_string(::getpid());
        for (auto& c : name)
            if (c == '/') c = '_'; // parameterised tests have '/' in their names
        path_ = std::filesystem::temp_directory_path() / name;
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

/// Writes @p text to @p p as is (no newline translation), creating missing parent folders.
inline std::filesystem::path write_text_file(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out << text;
    return p;
}

/// Writes @p text gzip-compressed to @p p, creating missing parent folders; a failure is a test failure.
inline std::filesystem::path write_gz_file(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    gzFile f = gzopen(p.c_str(), "wb");
    EXPECT_NE(f, nullptr) << p;
    if (f != nullptr) {
        EXPECT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size())) << p;
        gzclose(f);
    }
    return p;
}

} // namespace scx::test
