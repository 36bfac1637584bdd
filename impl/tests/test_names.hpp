// Test-name helper shared by the impl tests.
#pragma once

#include "handoff/impl/qemu_version.hpp"

#include <cctype>
#include <gtest/gtest.h>
#include <ostream>
#include <string>

namespace handoff::impl {

// Lets GoogleTest print a version as "v8.1" instead of its bytes.
inline void PrintTo(QemuVersion v, std::ostream* os) {
    *os << to_string(v);
}

// "v10.0-dev" -> "v10_0_dev", usable as a GoogleTest parameter name.
inline std::string version_test_name(const ::testing::TestParamInfo<QemuVersion>& param) {
    std::string s(to_string(param.param));
    for (char& c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            c = '_';
        }
    }
    return s;
}

} // namespace handoff::impl
