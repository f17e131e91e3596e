#pragma once
// Catching the library's errors in tests that check the message.

#include "scextract/core/error.hpp"

#include <functional>
#include <string>

namespace scx::test {

/// The message of the scx::Error @p f throws, or "" when it throws nothing.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const scx::Error& e) {
        return e.what();
    }
    return "";
}

} // namespace scx::test
