// What a replay did to the real system, written down as it happens so that it can be pasted into a
// bug report: the storage set-up commands, every QEMU command line (full argv), every QMP command
// the harness sends with QEMU's reply, the relay's and the storage's actions, grouped by the model
// step they carry out, and how the processes ended. The harness's own observation (query-status,
// query-migrate, the probe, polled until QEMU shows a state) is left out command by command and
// summed up in one line per observation: it is how the harness decides, not part of the story.
// The temporary folder is written `$DIR`, so that the lines run elsewhere.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace handoff::conformance {

struct TranscriptEntry {
    std::string section; // "storage", "start", "step 3: qmp_cont (h=host 1)", "outcome"
    std::string kind;    // shell, qmp, reply, relay, storage, observed, qemu (a step QEMU takes by
                         // itself), outcome
    int host = -1;       // the model host a qmp/reply/process line is about, else -1
    std::string text;    // one line, the temporary folder written $DIR
    bool operator==(const TranscriptEntry&) const = default;
};

class Transcript {
  public:
    // The folder whose path is written $DIR from now on.
    void set_dir(std::string dir) { dir_ = std::move(dir); }
    // The folder of the QEMU conformance/fetch-qemu unpacked, written $QEMU from now on: its path
    // depends on the machine (HANDOFF_QEMU_CACHE, HOME), `conformance/fetch-qemu --print` does not.
    void set_qemu_dir(std::string dir) { qemu_dir_ = std::move(dir); }
    const std::string& dir() const { return dir_; }

    // Entries added from now on belong to this section.
    void section(std::string title) { section_ = std::move(title); }
    void add(const std::string& kind, int host, const std::string& text);
    // A command line: each argument shell-quoted where needed, `env` ("NAME=value") in front,
    // and `suffix` (" &", " & NBD0=$!") after it.
    void command(int host, const std::vector<std::string>& env,
                 const std::vector<std::string>& argv, const std::string& suffix = "");
    // A QMP command as sent (without its id) and QEMU's reply (without its id), one line each.
    void qmp_sent(int host, const std::string& command, const nlohmann::json& arguments);
    void qmp_reply(int host, const nlohmann::json& reply);

    // While a Mute lives nothing is recorded: the harness's own observation.
    class Mute {
      public:
        explicit Mute(Transcript* t) : t_(t) {
            if (t_ != nullptr) {
                ++t_->muted_;
            }
        }
        ~Mute() {
            if (t_ != nullptr) {
                --t_->muted_;
            }
        }
        Mute(const Mute&) = delete;
        Mute& operator=(const Mute&) = delete;

      private:
        Transcript* t_;
    };
    bool muted() const { return muted_ > 0; }

    const std::vector<TranscriptEntry>& entries() const { return entries_; }

  private:
    std::string placeholders(std::string text) const;

    std::string dir_;
    std::string qemu_dir_;
    std::string section_;
    int muted_ = 0;
    std::vector<TranscriptEntry> entries_;
};

// The transcript as text: one header line per section ("# step 3: qmp_cont (h=host 1)"), then its
// lines ("host 1 -> {...}", "host 1 <- {...}", "$ qemu-img ...", "(polled ...)"); a step QEMU
// takes by itself is its heading alone.
std::string transcript_text(const std::vector<TranscriptEntry>& entries);
// The same as a JSON array of {section, kind, host, text} (host left out when -1).
nlohmann::json transcript_json(const std::vector<TranscriptEntry>& entries);

// An argument as a shell word: unquoted when it is made of safe characters (a `$DIR` in it stays
// expandable), else in double quotes with ", \, ` and any other $ escaped.
std::string shell_word(const std::string& arg);

} // namespace handoff::conformance
