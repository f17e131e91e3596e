#pragma once
/// @file zip_error.hpp
/// @brief Internal to io/: libzip's text for an error code, for the torch checkpoint reader
/// and writer.

#include <string>

namespace scx {

/// libzip's message for the ZIP_ER_* code @p code (e.g. "Not a zip archive").
std::string zip_error_text(int code);

} // namespace scx
