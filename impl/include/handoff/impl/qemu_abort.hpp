// QEMU's assert() and abort() as recorded crashes.
//
// A failed assertion throws QemuAbort out of the block or migration code; the public entry points
// of QemuInstance catch it, record the crash (function and reason) and refuse every later call,
// exactly as a dead QEMU process would. The test process never dies.
#pragma once

#include <stdexcept>
#include <string>

namespace handoff::impl {

struct CrashRecord {
    std::string function; // QEMU function whose assert()/abort() fired
    std::string reason;   // the assertion text or abort() message
};

class QemuAbort : public std::runtime_error {
  public:
    explicit QemuAbort(CrashRecord record)
        : std::runtime_error(record.function + ": " + record.reason), record_(std::move(record)) {}
    const CrashRecord& record() const { return record_; }

  private:
    CrashRecord record_;
};

// assert(cond) inside `function`: throws QemuAbort with "Assertion `text' failed."
inline void qemu_assert(bool cond, const char* function, const char* text) {
    if (!cond) {
        throw QemuAbort({function, std::string("Assertion `") + text + "' failed."});
    }
}

[[noreturn]] inline void qemu_abort(const char* function, std::string message) {
    throw QemuAbort({function, std::move(message)});
}

} // namespace handoff::impl
