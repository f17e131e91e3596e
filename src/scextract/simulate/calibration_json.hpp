#pragma once
/// @file calibration_json.hpp
/// @brief The calibration file (format "scextract-calibration", version 1): everything
/// calibrate_simulation() estimated, so `simulate --calibration FILE` rebuilds a bed
/// without the reference. Described in docs/formats.md.

#include "scextract/simulate/calibration.hpp"

#include <string>

namespace scx {

inline constexpr const char* kCalibrationFormat = "scextract-calibration";
inline constexpr int kCalibrationFormatVersion = 1;

/// Writes @p calibration to @p path atomically (temporary file, then rename).
void write_calibration_json(const Calibration& calibration, const std::string& path);

/// Reads a calibration file. Throws scx::Error naming @p path and the first problem
/// (wrong format or version, a missing key, arrays whose sizes disagree).
Calibration read_calibration_json(const std::string& path);

} // namespace scx
