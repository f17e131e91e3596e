#pragma once
/// @file error.hpp
/// @brief Exception types shared by every stage; the CLI maps them to exit codes.

#include <stdexcept>
#include <string>

namespace scx {

/// A runtime or input problem (bad file, inconsistent shapes, I/O failure).
/// The message names the file or object and what is wrong; the CLI exits with 1.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A problem with how the program was called (bad option combination); exit code 2.
class UsageError : public Error {
public:
    using Error::Error;
};

} // namespace scx
