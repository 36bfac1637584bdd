// The versions the property tests run, for gtest's parameterised suites.
#pragma once

#include <string>
#include <vector>

namespace handoff::proptests {

inline const std::vector<std::string>& test_versions() {
    static const std::vector<std::string> v{"v7.2",      "v8.0.0", "v8.1", "v9.2",
                                            "v10.0-dev", "v10.0",  "v10.2"};
    return v;
}

// "v10.0-dev" -> "v10_0_dev" (gtest names).
inline std::string test_name(std::string version) {
    for (char& c : version) {
        if (c == '.' || c == '-') {
            c = '_';
        }
    }
    return version;
}

} // namespace handoff::proptests
