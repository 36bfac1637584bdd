// The versions the property tests run, for gtest's parameterised suites: those impl/ has a
// MigrationPolicy for (a model version without one is not run; `handoff versions` says so).
#pragma once

#include "handoff/impl/qemu_version.hpp"

#include <string>
#include <vector>

namespace handoff::proptests {

inline const std::vector<std::string>& test_versions() {
    static const std::vector<std::string> v = [] {
        std::vector<std::string> out;
        for (impl::QemuVersion version : impl::all_qemu_versions) {
            out.emplace_back(impl::to_string(version));
        }
        return out;
    }();
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
