#!/usr/bin/env python3
"""PROVISIONAL (proptests branch): writes proofs/traces/<version>/<invariant>.json (the "trace"
object of each violated result) and proofs/expected.json from `handoff check --json` outputs.
Usage: generate_provisional.py check-v8.0.0.json [check-v8.1.json ...]
The lead's committed files replace these at merge."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
results, instance = [], {}
for path in sys.argv[1:]:
    doc = json.load(open(path))
    instance = doc.get("instance", instance)
    for r in doc["results"]:
        entry = {k: r[k] for k in ("version", "invariant", "verdict", "engine")}
        if "trace" in r:
            entry["steps"] = len(r["trace"]["steps"])
            out = os.path.join(here, r["version"], r["invariant"] + ".json")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "w") as f:
                json.dump(r["trace"], f, indent=1)
                f.write("\n")
        results.append(entry)
manifest = os.path.join(here, "..", "expected.json")
old = json.load(open(manifest)) if os.path.exists(manifest) else {"results": []}
done = {(e["version"], e["invariant"]) for e in results}
results += [e for e in old["results"] if (e["version"], e["invariant"]) not in done]
order = ["v8.0.0", "v8.1", "v9.2", "v10.0-dev", "v10.2"]
results.sort(key=lambda e: order.index(e["version"]))
with open(manifest, "w") as f:
    json.dump({"instance": instance, "results": results}, f, indent=2)
    f.write("\n")
