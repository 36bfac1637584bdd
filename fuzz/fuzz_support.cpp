#include "fuzz_support.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace handoff::fuzz {

const std::string& scratch_dir() {
    static const std::string dir = [] {
        const char* tmp = std::getenv("TMPDIR");
        const std::filesystem::path d = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
                                        ("handoff-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d.string();
    }();
    return dir;
}

std::string write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
    const std::string path = scratch_dir() + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

void silence_stdio() {
    static const bool done = [] {
        return std::freopen("/dev/null", "w", stdout) != nullptr &&
               std::freopen("/dev/null", "r", stdin) != nullptr;
    }();
    (void)done;
}

void broken(const std::string& what, const std::string& input) {
    std::fprintf(stderr, "fuzz: %s\n  input: %s\n", what.c_str(), input.c_str());
    std::fflush(stderr);
    std::abort();
}

namespace {

// Thrown once a parse-only subcommand's options are parsed and checked. Not a std::exception, so
// that run_app() lets it through instead of calling it an internal error.
struct ParsedOnly {};

// The callbacks themselves stay: they own the commands' option variables (a removed callback
// freed them while CLI11 still wrote to them). A parse-complete callback runs after the options
// were checked and before the command's own callback, and stops there.
void parse_only(CLI::App& app, const std::vector<std::string>& keep) {
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        if (std::find(keep.begin(), keep.end(), sub->get_name()) == keep.end()) {
            sub->parse_complete_callback([] { throw ParsedOnly{}; });
        }
    }
}

} // namespace

int run_cli(const std::vector<std::string>& args, const std::vector<std::string>& keep) {
    silence_stdio();
    CLI::App app{"handoff", "handoff"};
    cli::build_app(app);
    parse_only(app, keep);
    std::vector<const char*> argv{"handoff"};
    std::string shown = "handoff";
    bool has_newline = false;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
        shown += " '" + a + "'";
        has_newline = has_newline || a.find_first_of("\n\r") != std::string::npos;
    }
    char* text = nullptr;
    std::size_t length = 0;
    std::FILE* err = ::open_memstream(&text, &length);
    int code = 0;
    try {
        code = cli::run_app(app, static_cast<int>(argv.size()), argv.data(), err);
    } catch (const ParsedOnly&) {
        code = 0;
    }
    std::fclose(err);
    const std::string message(text, length);
    std::free(text);
    if (code == 4 || code < 0 || code > 4) {
        broken("exit code " + std::to_string(code) + ": " + message, shown);
    }
    // An argument with a line break in it may be echoed in the message; otherwise bad input is
    // one line.
    if (code == 2 && !has_newline &&
        (message.empty() || message.back() != '\n' ||
         std::count(message.begin(), message.end(), '\n') != 1)) {
        broken("exit code 2 without exactly one line of explanation: [" + message + "]", shown);
    }
    return code;
}

} // namespace handoff::fuzz
