// handoff: a formally checked model of how QEMU hands block devices over during live migration.
#include "commands.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    CLI::App app{"handoff: a checked model of QEMU's block-device handover during live migration.\n"
                 "Run `handoff COMMAND --help` for a command's options.",
                 "handoff"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Every command's options");
    handoff::cli::register_model_commands(app);
    handoff::cli::register_proofs_commands(app);
    handoff::cli::register_artifacts_commands(app);
    handoff::cli::register_conformance_commands(app);
    handoff::cli::register_mutate_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // One line naming what was wrong; CLI11's own message is already a sentence.
        std::fprintf(stderr, "handoff: %s (see handoff --help)\n", e.what());
        return 2;
    } catch (const handoff::cli::UsageError& e) {
        std::fprintf(stderr, "handoff: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "handoff: internal error: %s\n", e.what());
        return 4;
    }
    return handoff::cli::exit_code();
}
