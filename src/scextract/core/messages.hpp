#pragma once
/// @file messages.hpp
/// @brief Where library functions that talk to the user send their words: the CLI prints
/// them on stderr, the Python package hands them to `logging` / `warnings`, tests collect
/// them. Either function may be empty (the message is dropped).

#include <functional>
#include <string>

namespace scx {

/// A note (what was chosen, how long it took) and a warning (a result to look at twice).
struct MessageSink {
    std::function<void(const std::string&)> info;
    std::function<void(const std::string&)> warn;

    void note(const std::string& m) const {
        if (info) info(m);
    }
    void warning(const std::string& m) const {
        if (warn) warn(m);
    }
};

} // namespace scx
