#pragma once
// Whole files as bytes, for tests that damage a file written by the code under test.
#include <fstream>
#include <iterator>
#include <string>

namespace scx::test {

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

inline void spit(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

} // namespace scx::test
