# The manifest (proofs/expected.json) of a `handoff check --json` output: the verdict per version
# and invariant, the engine that gave it, the length of a violation's trace, a bound's depth.
# Used by proofs/regenerate and by the test proofs/tests/manifest_test.sh.
{
  instance: .instance,
  results: [
    .results[]
    | {version, invariant, verdict, engine}
      + (if .verdict == "violated" then {steps: (.trace.steps | length)} else {} end)
      + (if .verdict == "bounded" then {depth: .depth} else {} end)
  ]
}
