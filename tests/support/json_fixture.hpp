#pragma once
// Reading the JSON reference files that tests/fixtures/make_*_fixtures.py write: a file under
// tests/fixtures, and its nested number lists as Eigen matrices and vectors in double.

#include "scextract/core/dense.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <vector>
#include <fstream>
#include <stdexcept>
#include <string>

namespace scx::test {

/// tests/fixtures/@p relative, parsed.
inline nlohmann::json load_json_fixture(const std::string& relative) {
    const auto path = std::filesystem::path(SCX_SOURCE_DIR) / "tests/fixtures" / relative;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    return nlohmann::json::parse(in);
}

/// A list of equally long number lists as a row-major matrix.
inline RowMatrixD json_matrix(const nlohmann::json& j) {
    RowMatrixD m(static_cast<Eigen::Index>(j.size()), static_cast<Eigen::Index>(j.at(0).size()));
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        for (Eigen::Index c = 0; c < m.cols(); ++c) m(r, c) = j.at(r).at(c).get<double>();
    return m;
}

/// A number list as a vector.
inline Eigen::VectorXd json_vector(const nlohmann::json& j) {
    Eigen::VectorXd v(static_cast<Eigen::Index>(j.size()));
    for (Eigen::Index i = 0; i < v.size(); ++i) v[i] = j.at(i).get<double>();
    return v;
}

/// A number list with gaps: null and the strings "nan" / "inf" / "-inf" (how the fixture
/// scripts write values JSON has no number for) become NaN / +-infinity.
inline std::vector<double> json_doubles(const nlohmann::json& j) {
    std::vector<double> v;
    for (const auto& x : j) {
        if (x.is_null()) v.push_back(std::numeric_limits<double>::quiet_NaN());
        else if (x.is_string()) {
            const auto s = x.get<std::string>();
            v.push_back(s == "inf" ? INFINITY : s == "-inf" ? -INFINITY : std::numeric_limits<double>::quiet_NaN());
        } else v.push_back(x.get<double>());
    }
    return v;
}

} // namespace scx::test
