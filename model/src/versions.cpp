#include "handoff/model/versions.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <stdexcept>
#include <tuple>

namespace handoff::model {

namespace {

struct Registered {
    VersionInfo info;
    VersionRegistrar::Builder build;
};

struct Registry {
    std::vector<Registered> pending; // in registration order (which is no order at all)
    bool frozen = false;
};

// Constructed on first use, so that registrars in other files may run before anything else here.
Registry& registry() {
    static Registry r;
    return r;
}

// "v10.0-dev" -> {true, [10, 0], 0, "-dev"}: a version number, where a pre-release suffix (rank
// 0) sorts before the release (rank 1) and any other suffix (rank 2) after it.
struct OrderKey {
    bool numbered = false;
    std::vector<int> numbers;
    int suffix_rank = 1;
    std::string_view rest;

    explicit OrderKey(std::string_view name) : rest(name) {
        if (name.size() < 2 || name[0] != 'v' || name[1] < '0' || name[1] > '9') {
            return;
        }
        numbered = true;
        const char* p = name.data() + 1;
        const char* end = name.data() + name.size();
        for (;;) {
            int n = 0;
            p = std::from_chars(p, end, n).ptr;
            numbers.push_back(n);
            if (p + 1 < end && *p == '.' && p[1] >= '0' && p[1] <= '9') {
                ++p;
                continue;
            }
            break;
        }
        rest = std::string_view(p, static_cast<std::size_t>(end - p));
        suffix_rank = rest.empty() ? 1 : rest[0] == '-' ? 0 : 2;
    }
    auto tie() const { return std::tie(numbers, suffix_rank, rest); }
};

} // namespace

bool version_before(std::string_view a, std::string_view b) {
    const OrderKey ka(a), kb(b);
    if (ka.numbered != kb.numbered) {
        return ka.numbered;
    }
    return ka.numbered ? ka.tie() < kb.tie() : a < b;
}

VersionRegistrar::VersionRegistrar(const VersionInfo& info, Builder build) noexcept {
    Registry& r = registry();
    if (r.frozen) {
        // A static initialiser somewhere read the versions before this file's registrar ran:
        // the version would be missing from every list without a word.
        std::fprintf(stderr,
                     "handoff: version %.*s registered after the version list was read (a static "
                     "initialiser called all_versions())\n",
                     static_cast<int>(info.version.size()), info.version.data());
        std::abort();
    }
    r.pending.push_back({info, build});
}

const std::vector<const TableData*>& all_versions() {
    static const std::vector<const TableData*> versions = [] {
        Registry& r = registry();
        r.frozen = true;
        std::vector<Registered> sorted = r.pending;
        std::sort(sorted.begin(), sorted.end(), [](const Registered& a, const Registered& b) {
            return version_before(a.info.version, b.info.version);
        });
        for (std::size_t i = 0; i < sorted.size(); ++i) {
            const VersionInfo& v = sorted[i].info;
            if (i > 0 && sorted[i - 1].info.version == v.version) {
                throw std::logic_error("two tables are registered as version " +
                                       std::string(v.version));
            }
            const bool parent_known =
                v.based_on.empty() ||
                std::any_of(sorted.begin(), sorted.end(),
                            [&](const Registered& p) { return p.info.version == v.based_on; });
            if (!parent_known) {
                throw std::logic_error("version " + std::string(v.version) + " is derived from " +
                                       std::string(v.based_on) + ", which is not registered");
            }
        }
        // A deque: the tables never move once built, so the pointers stay valid.
        static std::deque<TableData> tables;
        std::vector<const TableData*> out;
        for (const Registered& reg : sorted) {
            tables.push_back(reg.build(reg.info));
            out.push_back(&tables.back());
        }
        return out;
    }();
    return versions;
}

const TableData* find_version(std::string_view name) {
    for (const TableData* t : all_versions()) {
        if (t->version == name) {
            return t;
        }
    }
    return nullptr;
}

std::string version_names() {
    std::string out;
    for (const TableData* t : all_versions()) {
        out += (out.empty() ? "" : ", ") + std::string(t->version);
    }
    return out;
}

} // namespace handoff::model
