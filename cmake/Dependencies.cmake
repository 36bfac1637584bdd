# Every dependency comes from Debian 12's packages (see ./run for the package list).

# Z3 4.8.12 ships only z3.pc: try a CMake config first, then pkg-config, then a plain library search,
# and expose upstream's target name z3::libz3 in every case.
find_package(Z3 CONFIG QUIET)
if(NOT TARGET z3::libz3)
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
        pkg_check_modules(HANDOFF_Z3 QUIET IMPORTED_TARGET z3)
    endif()
    if(TARGET PkgConfig::HANDOFF_Z3)
        add_library(z3::libz3 ALIAS PkgConfig::HANDOFF_Z3)
    else()
        find_library(HANDOFF_Z3_LIBRARY NAMES z3 REQUIRED)
        find_path(HANDOFF_Z3_INCLUDE NAMES z3++.h REQUIRED)
        add_library(z3::libz3 UNKNOWN IMPORTED)
        set_target_properties(z3::libz3 PROPERTIES IMPORTED_LOCATION "${HANDOFF_Z3_LIBRARY}"
                                                   INTERFACE_INCLUDE_DIRECTORIES "${HANDOFF_Z3_INCLUDE}")
    endif()
endif()

find_package(Boost 1.74 REQUIRED)            # Boost.Hana, header-only: Boost::headers
find_package(GTest REQUIRED)                 # GTest::gtest, GTest::gtest_main
find_package(rapidcheck REQUIRED)            # targets rapidcheck, rapidcheck_gtest (no version file)
find_package(nlohmann_json 3 REQUIRED)       # nlohmann_json::nlohmann_json
find_package(CLI11 REQUIRED)                 # CLI11::CLI11
find_package(fmt REQUIRED)                   # fmt::fmt
include(GoogleTest)
