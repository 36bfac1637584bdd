// A small QMP client over a unix socket (nlohmann-json): greeting, qmp_capabilities, commands with
// ids, events kept in arrival order. Every read has a deadline.
#pragma once

#include "handoff/conformance/process.hpp"
#include "handoff/conformance/transcript.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace handoff::conformance {

class QmpClient {
  public:
    // Connects (retrying until `timeout`: QEMU creates the socket while starting), reads the
    // greeting and negotiates capabilities.
    QmpClient(const std::string& socket_path, milliseconds timeout);
    // The same over a socket that is already connected (its end is owned and closed by the
    // client): what the QMP fuzzer (fuzz/qmp_fuzz.cpp) feeds replies through.
    QmpClient(int connected_fd, milliseconds timeout);
    ~QmpClient();
    QmpClient(const QmpClient&) = delete;
    QmpClient& operator=(const QmpClient&) = delete;

    // Sends a command and returns the whole reply object ({"return": ...} or {"error": ...}).
    // Throws HarnessError on a timeout or a closed connection.
    nlohmann::json execute(const std::string& command,
                           const nlohmann::json& arguments = nlohmann::json::object(),
                           milliseconds timeout = milliseconds(5000));
    // The same, throwing HarnessError when QEMU answers with an error.
    nlohmann::json execute_ok(const std::string& command,
                              const nlohmann::json& arguments = nlohmann::json::object(),
                              milliseconds timeout = milliseconds(5000));
    // human-monitor-command; returns the HMP output text.
    std::string hmp(const std::string& command_line, milliseconds timeout = milliseconds(5000));

    // Every command sent from now on, and its reply, goes into `t` (unless muted) as host `host`'s.
    void record_to(Transcript* t, int host) {
        transcript_ = t;
        host_ = host;
    }

    const std::vector<nlohmann::json>& events() const { return events_; }
    bool connected() const { return fd_ >= 0; }

  private:
    void handshake(Clock::time_point deadline); // greet(), closing the socket if it throws
    void greet(Clock::time_point deadline);     // the greeting, then qmp_capabilities
    nlohmann::json read_message(Clock::time_point deadline);
    int fd_ = -1;
    std::string buffer_;
    std::vector<nlohmann::json> events_;
    long next_id_ = 1;
    Transcript* transcript_ = nullptr;
    int host_ = -1;
};

} // namespace handoff::conformance
