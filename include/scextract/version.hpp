#pragma once
/// @file version.hpp
/// @brief The library's version, as recorded in the files it writes.

namespace scx {

/// "MAJOR.MINOR.PATCH" of this build (CMake's project version).
const char* version();

} // namespace scx
