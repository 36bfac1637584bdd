#include "handoff/impl/fault_plan.hpp"

#include <algorithm>

namespace handoff::impl {

const char* to_string(FaultOp op) {
    switch (op) {
    case FaultOp::inactivate:
        return "inactivate";
    case FaultOp::activate:
        return "activate";
    case FaultOp::reopen:
        return "reopen";
    case FaultOp::flush:
        return "flush";
    }
    return "?";
}

std::optional<NodeFault> FaultInjector::take(const std::string& node, FaultOp op,
                                             bool storage_down) {
    auto it =
        std::find_if(plan_.node_faults.begin(), plan_.node_faults.end(), [&](const NodeFault& f) {
            return f.node == node && f.op == op && (storage_down || !f.while_storage_down);
        });
    if (it == plan_.node_faults.end()) {
        return std::nullopt;
    }
    NodeFault fault = *it;
    if (!fault.while_storage_down) {
        plan_.node_faults.erase(it);
    }
    fired_.push_back(std::string("fault: ") + to_string(op) + " fails on " + node +
                     (fault.leave_half_done ? " (half done)" : ""));
    return fault;
}

bool FaultInjector::take_storage_outage(const std::string& node, FaultOp op) {
    if (!plan_.storage_outage || plan_.storage_outage->node != node ||
        plan_.storage_outage->op != op) {
        return false;
    }
    plan_.storage_outage.reset();
    fired_.push_back(std::string("fault: storage stops answering at ") + to_string(op) + " of " +
                     node);
    return true;
}

bool FaultInjector::take(bool FaultPlan::*flag) {
    if (!(plan_.*flag)) {
        return false;
    }
    plan_.*flag = false;
    if (flag == &FaultPlan::incoming_load_fails) {
        fired_.push_back("fault: incoming load fails");
    } else if (flag == &FaultPlan::return_path_error) {
        fired_.push_back("fault: return path error");
    } else if (flag == &FaultPlan::file_error_after_completion) {
        fired_.push_back("fault: migration stream error after completion");
    }
    return true;
}

PostcopyPackageFault FaultInjector::take_postcopy_package_fault() {
    PostcopyPackageFault f = plan_.postcopy_package;
    plan_.postcopy_package = PostcopyPackageFault::none;
    if (f == PostcopyPackageFault::before_package_sent) {
        fired_.push_back("fault: postcopy stream error before the package is sent");
    } else if (f == PostcopyPackageFault::package_send_fails) {
        fired_.push_back("fault: postcopy package send fails");
    }
    return f;
}

} // namespace handoff::impl
