// handoff: a formally checked model of how QEMU hands block devices over during live migration.
#include "app.hpp"

int main(int argc, char** argv) {
    CLI::App app{"handoff: a checked model of QEMU's block-device handover during live migration.\n"
                 "Run `handoff COMMAND --help` for a command's options.",
                 "handoff"};
    handoff::cli::build_app(app);
    return handoff::cli::run_app(app, argc, argv);
}
