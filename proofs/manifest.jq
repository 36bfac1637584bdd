# The manifest (proofs/expected.json) of `handoff check --json` outputs, one per environment
# profile, slurped together (jq -s): the verdict per version, invariant and profile (`env`:
# documented or any), the engine that gave it, the length of a violation's trace, a bound's depth.
# Used by proofs/regenerate and by the test proofs/tests/manifest_test.sh.
{
  instance: (.[0].instance | del(.env)),
  results: [
    .[].results[]
    | {version, invariant, env: .instance.env, verdict, engine}
      + (if .verdict == "violated" then {steps: (.trace.steps | length)} else {} end)
      + (if .verdict == "bounded" then {depth: .depth} else {} end)
  ]
}
