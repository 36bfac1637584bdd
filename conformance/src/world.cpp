#include "handoff/conformance/world.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace handoff::conformance {

namespace fs = std::filesystem;

namespace {

std::string upper(std::string s) {
    for (char& c : s) {
        c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}

// The environment of every QEMU program the harness starts.
std::vector<std::string> qemu_env(const QemuBinaries& q) {
    if (q.module_dir.empty()) {
        return {};
    }
    return {"QEMU_MODULE_DIR=" + q.module_dir};
}

// Runs a short command to completion (qemu-img, truncate), with the harness's deadline.
void run_tool(const std::vector<std::string>& argv, const std::string& log, milliseconds timeout,
              const std::vector<std::string>& env) {
    Process p(argv[0], argv, log, env);
    const auto st = p.wait_for(timeout);
    if (!st) {
        p.kill_now();
        throw HarnessError(argv[0] + " did not finish in time (killed)");
    }
    if (st->signaled || st->code != 0) {
        throw HarnessError(argv[0] + " failed: " + st->text() + " (see " + log + ")");
    }
}

// The program a name runs (PATH searched as execvpe() does), so that a transcript says which binary
// it was: /usr/bin/qemu-system-x86_64 rather than a name another machine resolves differently.
std::string resolved(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        return program;
    }
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    std::size_t pos = 0;
    while (pos <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', pos), dirs.size());
        const std::string candidate =
            (end == pos ? std::string(".") : dirs.substr(pos, end - pos)) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        pos = end + 1;
    }
    return program;
}

// argv as a transcript shows it: the program resolved.
std::vector<std::string> shown(std::vector<std::string> argv) {
    argv[0] = resolved(argv[0]);
    return argv;
}

bool socket_accepts(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

// The last line of a QEMU log that reports an assertion or abort.
std::string assertion_line(const std::string& log) {
    std::string found;
    std::size_t pos = 0;
    while (pos < log.size()) {
        const std::size_t end = std::min(log.find('\n', pos), log.size());
        const std::string line = log.substr(pos, end - pos);
        if (line.find("Assertion") != std::string::npos ||
            line.find("invalid runstate transition") != std::string::npos ||
            line.find("load of migration failed") != std::string::npos) {
            found = line;
            // The errno after "load of migration failed: " depends on where the stream broke.
            const std::size_t cut = found.find("load of migration failed");
            if (cut != std::string::npos) {
                found = found.substr(0, cut + 24);
            }
        }
        pos = end + 1;
    }
    return found;
}

} // namespace

World::World(WorldConfig config) : config_(config) {
    install_cleanup_handler();
    char tmpl[] = "/tmp/handoff-qemu-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
        throw HarnessError("mkdtemp failed");
    }
    dir_ = tmpl;
    transcript_.set_dir(dir_);
    transcript_.section("storage");
    transcript_.add("shell", -1, "DIR=$(mktemp -d)");
    if (const std::string fetched = fetched_qemu_dir();
        config_.qemu.system.rfind(fetched + "/", 0) == 0) {
        transcript_.add("shell", -1, "QEMU=$(conformance/fetch-qemu --print)");
        transcript_.set_qemu_dir(fetched);
    }
    for (int i = 0; i < config_.nodes; ++i) {
        const std::vector<std::string> create{config_.qemu.img, "create", "-q", "-f",
                                              "qcow2",          image(i), "16M"};
        transcript_.command(-1, qemu_env(config_.qemu), shown(create));
        run_tool(create, dir_ + "/tools.log", config_.timeout, qemu_env(config_.qemu));
        // An NBD export has a fixed size: without slack, qcow2 cluster allocation fails.
        transcript_.command(-1, {}, {"truncate", "-s", "64M", image(i)});
        fs::resize_file(image(i), 64u << 20);
        if (!config_.local_files) {
            nbd_.push_back(nullptr);
            start_nbd(i);
        }
    }
}

World::~World() {
    relay_.reset();
    for (int fd : lock_fds_) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    for (auto& h : hosts_) {
        h.qmp.reset();
        h.process.reset(); // SIGKILL + reap by PID
    }
    nbd_.clear();
    if (!config_.keep_dir) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
}

std::string World::image(int i) const {
    return dir_ + "/img" + std::to_string(i) + ".qcow2";
}
std::string World::nbd_socket(int i) const {
    return dir_ + "/nbd" + std::to_string(i) + ".sock";
}

void World::start_nbd(int i) {
    const std::string sock = nbd_socket(i);
    std::error_code ec;
    fs::remove(sock, ec);
    const std::vector<std::string> argv{config_.qemu.nbd, "-f", "raw", "-t", "-e", "16", "-k", sock,
                                        image(i)};
    const std::string log = dir_ + "/nbd" + std::to_string(i) + ".log";
    // NBDi=$! names the server for the `kill` of a storage loss.
    transcript_.command(-1, qemu_env(config_.qemu), shown(argv),
                        " >>" + shell_word(log) + " 2>&1 & NBD" + std::to_string(i) + "=$!");
    nbd_[static_cast<std::size_t>(i)] = std::make_unique<Process>(
        "qemu-nbd" + std::to_string(i), argv, log, qemu_env(config_.qemu));
    const auto deadline = Clock::now() + config_.timeout;
    while (!socket_accepts(sock)) {
        if (nbd_[static_cast<std::size_t>(i)]->poll() || Clock::now() > deadline) {
            throw HarnessError("qemu-nbd for node " + std::to_string(i) + " did not start");
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
}

void World::kill_storage(int i) {
    if (!config_.local_files) {
        transcript_.add("shell", -1, "kill -KILL $NBD" + std::to_string(i));
        nbd_[static_cast<std::size_t>(i)]->kill_now();
        return;
    }
    lock_fds_.resize(static_cast<std::size_t>(config_.nodes), -1);
    int& fd = lock_fds_[static_cast<std::size_t>(i)];
    if (fd >= 0) {
        return;
    }
    transcript_.add("storage", -1,
                    "another process takes a read lock (fcntl F_OFD_SETLK, F_RDLCK) on byte 201 "
                    "of " +
                        image(i) +
                        ", QEMU's \"a process does not share WRITE\" byte (200 + the bit of "
                        "BLK_PERM_WRITE), and keeps it");
    fd = ::open(image(i).c_str(), O_RDONLY | O_CLOEXEC);
    struct flock fl {};
    fl.l_type = F_RDLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 201; // RAW_LOCK_SHARED_BASE (200) + bit 1 (BLK_PERM_WRITE)
    fl.l_len = 1;
    if (fd < 0 || ::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        throw HarnessError("cannot lock byte 201 of " + image(i));
    }
}

void World::restore_storage(int i) {
    if (!config_.local_files) {
        start_nbd(i);
        return;
    }
    lock_fds_.resize(static_cast<std::size_t>(config_.nodes), -1);
    int& fd = lock_fds_[static_cast<std::size_t>(i)];
    if (fd >= 0) {
        transcript_.add("storage", -1, "the lock on byte 201 of " + image(i) + " is dropped");
        ::close(fd); // drops the OFD lock
        fd = -1;
    }
}

void World::start_host(int h, bool incoming, bool paused) {
    Host& host = hosts_[h];
    host.qmp.reset();
    host.process.reset();
    host.ended.reset();
    ++host.generation;
    const std::string tag = "host" + std::to_string(h) + "-" + std::to_string(host.generation);
    const std::string qmp_sock = dir_ + "/" + tag + ".qmp";
    std::vector<std::string> argv{config_.qemu.system,
                                  "-accel",
                                  "tcg",
                                  "-M",
                                  "pc",
                                  "-m",
                                  "64",
                                  "-nodefaults",
                                  "-display",
                                  "none",
                                  "-name",
                                  tag,
                                  "-qmp",
                                  "unix:" + qmp_sock + ",server=on,wait=off",
                                  "-trace",
                                  "enable=migrate_set_state",
                                  "-trace",
                                  "enable=runstate_set"};
    if (!config_.qemu.firmware.empty()) {
        argv.insert(argv.end(), {"-L", config_.qemu.firmware});
    }
    for (int i = 0; i < config_.nodes; ++i) {
        const std::string node = node_name(i);
        if (config_.local_files) {
            argv.insert(argv.end(), {"-blockdev", "driver=file,node-name=" + node +
                                                      "-file,filename=" + image(i)});
        } else {
            argv.insert(argv.end(),
                        {"-blockdev", "driver=nbd,node-name=" + node +
                                          "-file,server.type=unix,server.path=" + nbd_socket(i)});
        }
        argv.insert(argv.end(),
                    {"-blockdev", "driver=qcow2,node-name=" + node + ",file=" + node + "-file",
                     "-device", "virtio-blk-pci,id=vd" + std::to_string(i) + ",drive=" + node});
    }
    if (incoming) {
        argv.insert(argv.end(), {"-incoming", "defer"});
    }
    if (paused || (incoming && !config_.autostart)) {
        argv.push_back("-S");
    }
    const std::string log = dir_ + "/" + tag + ".log";
    transcript_.command(h, qemu_env(config_.qemu), shown(argv), " >" + shell_word(log) + " 2>&1 &");
    host.process = std::make_unique<Process>(tag, argv, log, qemu_env(config_.qemu));
    host.qmp = std::make_unique<QmpClient>(qmp_sock, config_.timeout);
    host.qmp->record_to(&transcript_, h);
    ++starts_;
    // Every node has its driver now, so the command answers; whether its entries carry `active`
    // tells QEMU 10.x (feature, not version: a patched build may have it or not). The harness's
    // question, not the story's: not in the transcript.
    {
        const Transcript::Mute quiet(&transcript_);
        const auto nodes = host.qmp->execute("query-named-block-nodes", {{"flat", true}});
        host.activity_field = nodes.contains("return") && nodes["return"].is_array() &&
                              !nodes["return"].empty() && nodes["return"][0].contains("active");
    }
    set_capabilities(h);
    if (paused && !incoming) {
        // -S leaves the VM in PRELAUNCH; the model's PAUSED is a VM that ran and was stopped.
        host.qmp->execute_ok("cont");
        host.qmp->execute_ok("stop");
    }
    if (incoming) {
        host.incoming_uri = "unix:" + dir_ + "/mig-" + tag + ".sock";
        host.qmp->execute_ok("migrate-incoming", {{"uri", host.incoming_uri}});
    }
}

void World::set_capabilities(int h) {
    nlohmann::json caps = nlohmann::json::array();
    caps.push_back({{"capability", "late-block-activate"}, {"state", config_.late_block_activate}});
    caps.push_back(
        {{"capability", "pause-before-switchover"}, {"state", config_.pause_before_switchover}});
    // The model's migration_completion() waits for the destination
    // (await_return_path_close_on_source()): that needs the return path.
    caps.push_back({{"capability", "return-path"}, {"state", true}});
    hosts_[h].qmp->execute_ok("migrate-set-capabilities", {{"capabilities", caps}});
}

bool World::running(int h) {
    Host& host = hosts_[h];
    if (!host.process) {
        return false;
    }
    if (auto st = host.process->poll()) {
        host.ended = st;
        return false;
    }
    return true;
}

QmpClient& World::qmp(int h) {
    if (!running(h) || !hosts_[h].qmp) {
        throw HarnessError("host " + std::to_string(h) + " has no QEMU process");
    }
    return *hosts_[h].qmp;
}

void World::migrate(int h, bool held) {
    const int peer = 1 - h;
    const std::string& target = hosts_[peer].incoming_uri;
    if (target.empty() || !running(peer)) {
        // No listener: `migrate` to a socket nobody listens on, as QEMU would be told.
        qmp(h).execute_ok("migrate", {{"uri", "unix:" + dir_ + "/nobody.sock"}});
        return;
    }
    relay_.reset();
    relay_ = std::make_unique<Relay>(dir_ + "/relay" + std::to_string(++relays_) + ".sock",
                                     target.substr(5), held);
    transcript_.add("relay", -1,
                    "listens on " + relay_->path() + " and passes the stream on to " +
                        target.substr(5) +
                        (held ? ", holding the source's bytes (buffered, not delivered; the "
                                "return path passes)"
                              : ", delivering everything both ways (a transparent proxy)"));
    qmp(h).execute_ok("migrate", {{"uri", "unix:" + relay_->path()}});
}

std::string World::probe(int h, int i) {
    Host& host = hosts_[h];
    const std::string log = host.process->log_path();
    const std::size_t before = read_file(log).size();
    const std::string reply =
        qmp(h).hmp("qemu-io " + node_name(i) + " \"write -P 0x99 0 512\"", config_.timeout);
    if (reply.find("Permission conflict") != std::string::npos) {
        return "ACTIVE";
    }
    if (reply.find("read-only") != std::string::npos) {
        return "INACTIVE";
    }
    // qemu-io's own output goes to QEMU's stdout (the log), not into the HMP reply.
    const auto deadline = Clock::now() + milliseconds(1000);
    for (;;) {
        const std::string out = read_file(log).substr(before);
        if (out.find("No medium found") != std::string::npos) {
            return "BROKEN";
        }
        if (out.find("wrote ") != std::string::npos ||
            out.find("write failed") != std::string::npos) {
            // Active, and no device holds the write permission: a paused incoming VM (its
            // BlockBackend shares everything until it runs) or a half-inactivated node (its
            // BlockBackends gave their permissions up).
            return "OPEN";
        }
        if (Clock::now() > deadline) {
            std::string text = reply + out;
            text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
            std::replace(text.begin(), text.end(), '\n', ' ');
            return "?(" + text + ")";
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
}

std::vector<std::string> World::queried_states(int h) {
    const std::size_t n = static_cast<std::size_t>(config_.nodes);
    std::vector<std::string> out(n);
    auto reply = qmp(h).execute("query-named-block-nodes", {{"flat", true}});
    if (reply.contains("return")) {
        for (const auto& b : reply["return"]) {
            for (std::size_t i = 0; i < n; ++i) {
                if (b.value("node-name", "") == node_name(static_cast<int>(i))) {
                    out[i] = b.value("active", true) ? "" : "INACTIVE";
                }
            }
        }
    } else {
        // One node without a driver (a failed qcow2 re-open) fails that whole command ("Block
        // device X is ejected"); query-block goes by device and leaves such a device without
        // `inserted`.
        reply = qmp(h).execute("query-block");
        if (!reply.contains("return")) {
            const std::string why = "?(query-block: " + reply.dump() + ")";
            return std::vector<std::string>(n, why);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::string device = "/vd" + std::to_string(i) + "/";
            for (const auto& b : reply["return"]) {
                if (b.value("qdev", "").find(device) != std::string::npos) {
                    out[i] = !b.contains("inserted")               ? "BROKEN"
                             : b["inserted"].value("active", true) ? ""
                                                                   : "INACTIVE";
                }
            }
        }
    }
    // An active node: ACTIVE when a parent (the guest device's BlockBackend) does not share WRITE,
    // which is exactly when the probe's request for WRITE meets "Permission conflict"; OPEN when
    // every parent shares it (a BlockBackend with its permissions disabled shares everything).
    const auto reply_graph = qmp(h).execute("x-debug-query-block-graph");
    const auto& graph = reply_graph.contains("return") ? reply_graph["return"] : reply_graph;
    for (std::size_t i = 0; i < n; ++i) {
        if (!out[i].empty()) {
            continue;
        }
        if (!reply_graph.contains("return")) {
            out[i] = "?(x-debug-query-block-graph: " + reply_graph.dump() + ")";
            continue;
        }
        out[i] = "OPEN";
        for (const auto& node : graph["nodes"]) {
            if (node.value("type", "") != "block-driver" ||
                node.value("name", "") != node_name(static_cast<int>(i))) {
                continue;
            }
            for (const auto& e : graph["edges"]) {
                const auto& shared = e["shared-perm"];
                if (e.value("child", -1) == node.value("id", -2) &&
                    std::find(shared.begin(), shared.end(), "write") == shared.end()) {
                    out[i] = "ACTIVE";
                }
            }
        }
    }
    return out;
}

std::vector<std::string> World::node_states(int h) {
    if (hosts_[h].activity_field) {
        return queried_states(h);
    }
    std::vector<std::string> out;
    for (int i = 0; i < config_.nodes; ++i) {
        out.push_back(probe(h, i));
    }
    return out;
}

HostObservation World::observe(int h) {
    const Transcript::Mute quiet(&transcript_);
    HostObservation o;
    Host& host = hosts_[h];
    if (!host.process) {
        return o;
    }
    const bool alive = running(h);
    if (alive) {
        try {
            o.runstate = upper(qmp(h).execute_ok("query-status")["status"].get<std::string>());
            const auto m = qmp(h).execute_ok("query-migrate");
            o.mig = m.contains("status") ? upper(m["status"].get<std::string>()) : "NONE";
            o.nodes = node_states(h);
            o.alive = true;
        } catch (const HarnessError&) {
            // The process died while we asked: report it as gone.
            host.process->wait_for(config_.timeout);
            running(h);
            o = HostObservation{};
        }
    }
    if (!o.alive) {
        o.runstate.clear();
        o.mig.clear();
        o.nodes.clear();
        o.exit = host.ended ? host.ended->text() : "gone";
        o.assertion = assertion_line(read_file(host.process->log_path()));
    }
    return o;
}

} // namespace handoff::conformance
