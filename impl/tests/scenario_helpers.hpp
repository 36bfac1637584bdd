// Helpers for scripted multi-host scenarios.
#pragma once

#include "handoff/impl/qemu_instance.hpp"

#include <gtest/gtest.h>
#include <string>

namespace handoff::impl {

// Runs the source's migration thread (choosing `complete` at each iteration) until it has
// nothing runnable left; returns the status of the last step that ran.
inline CallStatus run_migration_thread(QemuInstance& src) {
    CallStatus last = CallStatus::ok;
    for (int i = 0; i < 100; ++i) {
        const CallResult r = src.migration_thread_step(IterationChoice::complete);
        if (r.status == CallStatus::not_enabled) {
            return last;
        }
        last = r.status;
        if (r.status != CallStatus::ok) {
            return last;
        }
    }
    ADD_FAILURE() << "migration thread did not settle";
    return last;
}

// Runs the thread until its next step is `step` (or it stops).
inline void run_migration_thread_until(QemuInstance& src, MigrationThreadStep step) {
    for (int i = 0; i < 100 && src.migration_thread_next_step() != step; ++i) {
        if (!src.migration_thread_step(IterationChoice::complete).ok()) {
            break;
        }
    }
    ASSERT_EQ(src.migration_thread_next_step(), step);
}

inline QemuOptions source_options(QemuVersion v, std::string name = "src") {
    QemuOptions o;
    o.name = std::move(name);
    o.version = v;
    return o;
}

inline QemuOptions destination_options(QemuVersion v, std::string name = "dst") {
    QemuOptions o = source_options(v, std::move(name));
    o.incoming = true;
    return o;
}

inline std::string trace_of(const QemuInstance& q) {
    std::string out;
    for (const std::string& line : q.trace()) {
        out += "  " + line + "\n";
    }
    return out;
}

} // namespace handoff::impl
