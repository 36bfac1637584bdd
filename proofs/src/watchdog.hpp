// A deadline for a Z3 context: interrupts every solver of the context when the time is up
// (Spacer's query has no timeout of its own; a solver's check() then returns unknown).
#pragma once

#include <z3++.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace handoff::proofs {

class Watchdog {
  public:
    Watchdog(z3::context& ctx, double seconds)
        : start_(std::chrono::steady_clock::now()), thread_([this, &ctx, seconds] {
              std::unique_lock lock(mutex_);
              if (!done_cv_.wait_for(lock, std::chrono::duration<double>(seconds),
                                     [this] { return done_; })) {
                  fired_ = true;
                  ctx.interrupt();
              }
          }) {}
    ~Watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_all();
        thread_.join();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    bool fired() const {
        std::lock_guard lock(mutex_);
        return fired_;
    }
    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

  private:
    std::chrono::steady_clock::time_point start_;
    mutable std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    bool fired_ = false;
    std::thread thread_;
};

} // namespace handoff::proofs
