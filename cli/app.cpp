// The `handoff` app: its subcommands and the one place where an exception becomes an exit code.
#include "app.hpp"
#include "commands.hpp"

#include <exception>

namespace handoff::cli {

void build_app(CLI::App& app) {
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Every command's options");
    register_model_commands(app);
    register_proofs_commands(app);
    register_artifacts_commands(app);
    register_conformance_commands(app);
    register_crosscheck_command(app);
    register_mutate_commands(app);
}

int run_app(CLI::App& app, int argc, const char* const* argv, std::FILE* err) {
    exit_code() = 0;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // One line naming what was wrong; CLI11's own message is already a sentence.
        std::fprintf(err, "handoff: %s (see handoff --help)\n", e.what());
        return 2;
    } catch (const UsageError& e) {
        std::fprintf(err, "handoff: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(err, "handoff: internal error: %s\n", e.what());
        return 4;
    }
    return exit_code();
}

} // namespace handoff::cli
