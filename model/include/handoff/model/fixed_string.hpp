// A string usable as a template argument, so that a row's name is part of its type and a
// compile-time error about the row can name it (g++ prints the string in the error).
#pragma once

#include <cstddef>
#include <string_view>

namespace handoff::model {

template <std::size_t N>
struct fixed_string {
    char text[N]{};
    constexpr fixed_string(const char (&literal)[N]) {
        for (std::size_t i = 0; i < N; ++i) {
            text[i] = literal[i];
        }
    }
    constexpr std::string_view view() const { return {text, N - 1}; }
};

} // namespace handoff::model
