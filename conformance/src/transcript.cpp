#include "handoff/conformance/transcript.hpp"

namespace handoff::conformance {

std::string Transcript::placeholders(std::string text) const {
    for (const auto& [path, name] : {std::pair{dir_, "$DIR"}, std::pair{qemu_dir_, "$QEMU"}}) {
        for (std::size_t p; !path.empty() && (p = text.find(path)) != std::string::npos;) {
            text.replace(p, path.size(), name);
        }
    }
    return text;
}

namespace {
// The expansions a transcript line relies on: `$DIR` and `$QEMU`.
bool placeholder_at(const std::string& arg, std::size_t i) {
    return arg.compare(i, 4, "$DIR") == 0 || arg.compare(i, 5, "$QEMU") == 0;
}
} // namespace

void Transcript::add(const std::string& kind, int host, const std::string& text) {
    if (muted()) {
        return;
    }
    entries_.push_back({section_, kind, host, placeholders(text)});
}

std::string shell_word(const std::string& arg) {
    static const std::string safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    "_@%+=:,./-";
    bool plain = !arg.empty();
    for (std::size_t i = 0; i < arg.size() && plain; ++i) {
        plain = safe.find(arg[i]) != std::string::npos || placeholder_at(arg, i);
    }
    if (plain) {
        return arg;
    }
    std::string out = "\"";
    for (std::size_t i = 0; i < arg.size(); ++i) {
        const char c = arg[i];
        if ((c == '$' && !placeholder_at(arg, i)) || c == '"' || c == '\\' || c == '`') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

void Transcript::command(int host, const std::vector<std::string>& env,
                         const std::vector<std::string>& argv, const std::string& suffix) {
    std::string line;
    for (const auto& e : env) {
        line += shell_word(placeholders(e)) + " ";
    }
    for (std::size_t i = 0; i < argv.size(); ++i) {
        line += (i == 0 ? "" : " ") + shell_word(placeholders(argv[i]));
    }
    add("shell", host, line + suffix);
}

void Transcript::qmp_sent(int host, const std::string& command, const nlohmann::json& arguments) {
    // "execute" first, as QMP's own documentation writes a command (a json object sorts its keys).
    std::string line = "{\"execute\":" + nlohmann::json(command).dump();
    if (!arguments.empty()) {
        line += ",\"arguments\":" + arguments.dump();
    }
    add("qmp", host, line + "}");
}

void Transcript::qmp_reply(int host, const nlohmann::json& reply) {
    nlohmann::json r = reply;
    if (r.is_object()) {
        r.erase("id"); // the harness's own numbering
    }
    add("reply", host, r.dump());
}

std::string transcript_text(const std::vector<TranscriptEntry>& entries) {
    std::string out;
    const std::string* section = nullptr;
    for (const auto& e : entries) {
        if (section == nullptr || *section != e.section) {
            section = &e.section;
            if (e.kind == "qemu") {
                // A step QEMU takes by itself has nothing to send: its heading says so.
                out += "# " + e.section + ": " + e.text + "\n";
                continue;
            }
            out += "# " + e.section + "\n";
        }
        const std::string host = "host " + std::to_string(e.host);
        if (e.kind == "shell") {
            out += "$ " + e.text;
        } else if (e.kind == "qmp") {
            out += host + " -> " + e.text;
        } else if (e.kind == "reply") {
            out += host + " <- " + e.text;
        } else if (e.kind == "observed") {
            out += "(" + e.text + ")";
        } else if (e.kind == "qemu") {
            out += "(" + e.text + ")";
        } else if (e.kind == "outcome") {
            out += e.text;
        } else {
            out += e.kind + ": " + e.text; // relay, storage, note
        }
        out += "\n";
    }
    return out;
}

nlohmann::json transcript_json(const std::vector<TranscriptEntry>& entries) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
        nlohmann::json j{{"section", e.section}, {"kind", e.kind}, {"text", e.text}};
        if (e.host >= 0) {
            j["host"] = e.host;
        }
        out.push_back(std::move(j));
    }
    return out;
}

} // namespace handoff::conformance
