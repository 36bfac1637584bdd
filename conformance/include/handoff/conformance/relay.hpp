// A relay between the source's migration stream and the destination's listening socket (unix
// sockets only), after real-qemu.md's appendix: the source -> destination bytes are buffered
// (the source never blocks) and delivered only while the gate is open; the return path is passed
// through. Holding the gate keeps the source in its post-EOF window (inactivated, EOF sent,
// waiting for the return path to close) and the destination loading; cut() breaks both
// directions (the destination's load fails, the source's return path reports an error).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace handoff::conformance {

class Relay {
  public:
    // Listens on `listen_path`; connects to `target_path` when the source connects.
    Relay(std::string listen_path, std::string target_path, bool held);
    ~Relay();
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    const std::string& path() const { return listen_path_; }
    void release(); // open the gate: deliver what is buffered and everything after it
    void cut();     // close both connections
    bool held() const;

  private:
    void accept_loop();
    void up_loop();   // source -> buffer
    void down_loop(); // buffer -> destination, while the gate is open
    void back_loop(); // destination -> source (the return path)

    std::string listen_path_, target_path_;
    int listen_fd_ = -1, src_fd_ = -1, dst_fd_ = -1;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::string buffer_;
    bool open_ = false, src_eof_ = false, stop_ = false;
    std::thread accept_, up_, down_, back_;
};

} // namespace handoff::conformance
