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

World::World(WorldConfig config)
    : config_(config), graph_(model::BlockGraph::make(config.graph, config.nodes)) {
    if (config_.graph == model::GraphShape::job) {
        throw HarnessError("the harness does not build the job graph (no block job runs)");
    }
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
    for (int i = 0; i < graph_.size(); ++i) {
        if (graph_.shape() == model::GraphShape::flat ||
            graph_.nodes()[static_cast<std::size_t>(i)].kind == model::NodeKind::protocol) {
            images_.push_back(i);
        }
    }
    // Every image is a qcow2 file of its own; on a graph the backing links are options of the
    // command line (drive_options()), not names in the images' headers.
    for (int k = 0; k < static_cast<int>(images_.size()); ++k) {
        const std::vector<std::string> create{config_.qemu.img, "create", "-q", "-f",
                                              "qcow2",          image(k), "16M"};
        transcript_.command(-1, qemu_env(config_.qemu), shown(create));
        run_tool(create, dir_ + "/tools.log", config_.timeout, qemu_env(config_.qemu));
        // An NBD export has a fixed size: without slack, qcow2 cluster allocation fails.
        transcript_.command(-1, {}, {"truncate", "-s", "64M", image(k)});
        fs::resize_file(image(k), 64u << 20);
        if (!config_.local_files) {
            nbd_.push_back(nullptr);
            start_nbd(k);
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

namespace {
// A protocol node's image is named after its format node: disk0.file -> disk0.
std::string image_stem(const std::string& label) {
    const std::string suffix = ".file";
    return label.size() > suffix.size() &&
                   label.compare(label.size() - suffix.size(), suffix.size(), suffix) == 0
               ? label.substr(0, label.size() - suffix.size())
               : label;
}
} // namespace

std::string World::image(int k) const {
    if (graph_.shape() == model::GraphShape::flat) {
        return dir_ + "/img" + std::to_string(k) + ".qcow2";
    }
    return dir_ + "/" + image_stem(node_name(images_[static_cast<std::size_t>(k)])) + ".qcow2";
}
std::string World::nbd_socket(int k) const {
    if (graph_.shape() == model::GraphShape::flat) {
        return dir_ + "/nbd" + std::to_string(k) + ".sock";
    }
    return dir_ + "/" + image_stem(node_name(images_[static_cast<std::size_t>(k)])) + ".sock";
}

std::string World::node_name(int i) const {
    return graph_.nodes()[static_cast<std::size_t>(i)].label;
}

std::string World::device_backend(int i) const {
    int disk = 0;
    for (int x = 0; x < i; ++x) {
        disk += graph_.is_root(x) ? 1 : 0;
    }
    return "vd" + std::to_string(disk) + "/virtio-backend";
}

bool World::probe_reads(int i) const {
    return graph_.nodes()[static_cast<std::size_t>(i)].kind == model::NodeKind::format;
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

void World::kill_storage() {
    for (int k = 0; k < static_cast<int>(images_.size()); ++k) {
        kill_storage(k);
    }
}

void World::restore_storage() {
    for (int k = 0; k < static_cast<int>(images_.size()); ++k) {
        restore_storage(k);
    }
    if (config_.local_files || graph_.shape() == model::GraphShape::flat) {
        return;
    }
    for (int h = 0; h < 2; ++h) {
        if (running(h)) {
            wait_for_nbd_reconnect(h);
        }
    }
}

// QEMU's NBD client (reconnect-delay 0) fails the first request after its server went away and
// reconnects on a later one. A read through each protocol node (no permission asked, so safe on
// an inactive node too) until one succeeds brings every client back before the trace goes on.
void World::wait_for_nbd_reconnect(int h) {
    for (int k = 0; k < static_cast<int>(images_.size()); ++k) {
        const std::string node = node_name(images_[static_cast<std::size_t>(k)]);
        transcript_.add("storage", h,
                        "HMP qemu-io " + node +
                            " \"read 0 512\" until it succeeds: QEMU's NBD client has reconnected");
        const Transcript::Mute quiet(&transcript_);
        const std::string log = hosts_[h].process->log_path();
        const auto deadline = Clock::now() + config_.timeout;
        for (;;) {
            const std::size_t before = read_file(log).size();
            qmp(h).hmp("qemu-io " + node + " \"read 0 512\"", config_.timeout);
            std::string out;
            const auto answered = Clock::now() + milliseconds(1000);
            while ((out = read_file(log).substr(before)).find("\n") == std::string::npos &&
                   Clock::now() < answered) {
                std::this_thread::sleep_for(milliseconds(10));
            }
            if (out.find("read 512/512 bytes") != std::string::npos) {
                break;
            }
            if (Clock::now() > deadline) {
                throw HarnessError("host " + std::to_string(h) + ": the NBD client of " + node +
                                   " did not reconnect");
            }
            std::this_thread::sleep_for(milliseconds(100));
        }
    }
}

void World::kill_storage(int i) {
    if (!config_.local_files) {
        transcript_.add("shell", -1, "kill -KILL $NBD" + std::to_string(i));
        nbd_[static_cast<std::size_t>(i)]->kill_now();
        return;
    }
    lock_fds_.resize(images_.size(), -1);
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
    lock_fds_.resize(images_.size(), -1);
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
    if (graph_.shape() != model::GraphShape::flat) {
        // As -drive opens a disk (the model's instance: every node implicit, none monitor-owned,
        // so bdrv_next() returns the BlockBackends' roots only), one -drive per root in
        // bdrv_next() order; a node a former -drive opened (a shared base) is named, not opened.
        std::vector<bool> opened(static_cast<std::size_t>(graph_.size()), false);
        int disk = 0;
        for (int x = 0; x < graph_.size(); ++x) {
            if (!graph_.is_root(x)) {
                continue;
            }
            std::string options = "if=none,id=drive" + std::to_string(disk);
            drive_options(x, "", opened, options);
            argv.insert(argv.end(), {"-drive", options, "-device",
                                     "virtio-blk-pci,id=vd" + std::to_string(disk) +
                                         ",drive=drive" + std::to_string(disk)});
            ++disk;
        }
    }
    for (int i = 0; graph_.shape() == model::GraphShape::flat && i < config_.nodes; ++i) {
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

void World::drive_options(int x, const std::string& prefix, std::vector<bool>& opened,
                          std::string& out) const {
    opened[static_cast<std::size_t>(x)] = true;
    const std::string name = node_name(x);
    if (graph_.nodes()[static_cast<std::size_t>(x)].kind == model::NodeKind::protocol) {
        const int k =
            static_cast<int>(std::find(images_.begin(), images_.end(), x) - images_.begin());
        out += config_.local_files ? "," + prefix + "driver=file," + prefix + "filename=" + image(k)
                                   : "," + prefix + "driver=nbd," + prefix + "server.type=unix," +
                                         prefix + "server.path=" + nbd_socket(k);
    } else {
        out += "," + prefix + "driver=qcow2";
    }
    out += "," + prefix + "node-name=" + name;
    for (const model::BlockEdge& e : graph_.edges()) {
        if (e.parent != x) {
            continue;
        }
        const std::string role(model::edge_role_name(e.role));
        if (opened[static_cast<std::size_t>(e.child)]) {
            out += "," + prefix + role + "=" + node_name(e.child);
        } else {
            drive_options(e.child, prefix + role + ".", opened, out);
        }
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
    } else if (graph_.shape() != model::GraphShape::flat) {
        // One node without a driver fails the command ("Block device X is ejected"), and so does
        // query-block, which walks each device's backing chain. X is BROKEN; a node that a parent
        // holds WRITE on is active (an inactive node grants no WRITE); the rest cannot be seen.
        const std::string desc = reply.contains("error") ? reply["error"].value("desc", "") : "";
        const std::string prefix = "Block device ", suffix = " is ejected";
        const bool ejected = desc.rfind(prefix, 0) == 0 &&
                             desc.size() > prefix.size() + suffix.size() &&
                             desc.compare(desc.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (!ejected) {
            return std::vector<std::string>(n, "?(query-named-block-nodes: " + reply.dump() + ")");
        }
        const std::string broken =
            desc.substr(prefix.size(), desc.size() - prefix.size() - suffix.size());
        const auto reply_graph = qmp(h).execute("x-debug-query-block-graph");
        for (std::size_t i = 0; i < n; ++i) {
            const std::string name = node_name(static_cast<int>(i));
            out[i] = name == broken ? "BROKEN" : "-";
            if (name == broken || !reply_graph.contains("return")) {
                continue;
            }
            for (const auto& node : reply_graph["return"]["nodes"]) {
                if (node.value("type", "") != "block-driver" || node.value("name", "") != name) {
                    continue;
                }
                for (const auto& e : reply_graph["return"]["edges"]) {
                    const auto& perm = e["perm"];
                    if (e.value("child", -1) == node.value("id", -2) &&
                        std::find(perm.begin(), perm.end(), "write") != perm.end()) {
                        out[i] = "ACTIVE";
                    }
                }
            }
        }
        return out;
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
        out.push_back(probe_reads(i) ? probe(h, i) : "-");
    }
    // On a graph the probe's answers say less (real-qemu.md section 5, "the probe is a
    // heuristic"): a backing image is read-only, so its answer says nothing of its flag (only
    // "No medium found", which comes before the permission check, says something); and
    // "No medium found" means the node *or one below it* has no driver (blk_is_available() walks
    // the children), so it names the node only when no format node below it says the same.
    const std::vector<std::string> raw = out;
    const auto below_broken = [&](auto& self, int x) -> bool {
        for (const model::BlockEdge& e : graph_.edges()) {
            if (e.parent == x &&
                (raw[static_cast<std::size_t>(e.child)] == "BROKEN" || self(self, e.child))) {
                return true;
            }
        }
        return false;
    };
    for (int i = 0; i < config_.nodes; ++i) {
        std::string& o = out[static_cast<std::size_t>(i)];
        if ((o != "BROKEN" && !graph_.holds(model::NodeRelation::takes_write_lock, i, i)) ||
            (o == "BROKEN" && below_broken(below_broken, i))) {
            o = "-";
        }
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
