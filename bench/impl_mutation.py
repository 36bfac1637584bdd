#!/usr/bin/env python3
"""Mutation testing of impl/: source mutants of impl/src/*.cpp, each built and run against the
scripted tests (handoff_impl_tests) and the property tests (proptests/), in a clone of the
repository so that the working tree is never touched.

A mutant is one small change to one line: a condition negated, `&&` and `||` swapped, `==` and
`!=` swapped, `<=`/`>=` made strict (and back), `true` and `false` swapped, an integer constant
changed, an errno value replaced by 0, one statement removed. It is

  killed      when a test fails or times out (the first failing test is named);
  stillborn   when it does not compile (not counted in the score: no test could run);
  survived    when every test passes: bench/impl_mutation_survivors.tsv must say why (an
              equivalent mutant, with the reason) or a new test must kill it.

Usage (from the repository root, after committing: the clone is of HEAD):
  bench/impl_mutation.py --list                         the mutants, one per line
  bench/impl_mutation.py [--sample N] [--seed S] [--work DIR] > bench/impl-mutation.md
  bench/impl_mutation.py --only ID [--only ID...]       those mutants, progress on stderr
  bench/impl_mutation.py --render RESULTS.json [--rerun RERUN.json]
                                                        the report again from a run's results
                                                        (with the current explanations), and a
                                                        later --only run of its survivors
Each run writes its results beside the clone (DIR/results.json, DIR/results-only.json).

Needs python3, git, cmake, ninja (./run build's packages). The first run configures and builds
the tests in DIR (default /tmp/handoff-impl-mutation: a few minutes; ccache is used if present).
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

# The programs run on each mutant, cheapest first; the first failure kills it.
TEST_PROGRAMS = [
    ("impl", "handoff_impl_tests", "impl/handoff_impl_tests"),
    ("violations", "handoff_proptests_violations", "proptests/handoff_proptests_violations"),
    ("seed_bug", "handoff_proptests_seed_bug", "proptests/handoff_proptests_seed_bug"),
    ("abstraction", "handoff_proptests_abstraction", "proptests/handoff_proptests_abstraction"),
    ("replay", "handoff_proptests_replay", "proptests/handoff_proptests_replay"),
    ("refinement", "handoff_proptests_refinement", "proptests/handoff_proptests_refinement"),
]
# Ten times the longest unmutated run (the refinement tests, about 50 s on this machine).
TEST_TIMEOUT_SECONDS = 600
SURVIVORS_FILE = "bench/impl_mutation_survivors.tsv"


@dataclass(frozen=True)
class Mutant:
    path: str  # relative to the repository
    line: int  # 1-based
    operator: str
    start: int  # column span of the original text in the line
    end: int
    original: str
    replacement: str

    @property
    def ident(self):
        return f"{os.path.basename(self.path)}:{self.line}:{self.operator}:{self.start}"

    def describe(self):
        return f"`{self.original.strip()}` -> `{self.replacement.strip()}`"


def code_masks(lines):
    """Each line with comments and string or character literals blanked out (same length), so
    that no operator inside them is mutated."""
    masked = []
    in_block = False
    for text in lines:
        out = []
        i = 0
        while i < len(text):
            if in_block:
                if text.startswith("*/", i):
                    in_block = False
                    out.append("  ")
                    i += 2
                else:
                    out.append(" ")
                    i += 1
            elif text.startswith("//", i):
                out.append(" " * (len(text) - i))
                break
            elif text.startswith("/*", i):
                in_block = True
                out.append("  ")
                i += 2
            elif text[i] in "\"'":
                quote = text[i]
                j = i + 1
                while j < len(text) and text[j] != quote:
                    j += 2 if text[j] == "\\" else 1
                out.append(quote + " " * (min(j, len(text)) - i - 1) + (quote if j < len(text) else ""))
                i = j + 1
            else:
                out.append(text[i])
                i += 1
        masked.append("".join(out)[: len(text)].ljust(len(text)))
    return masked


def matching_paren(code, open_index):
    depth = 0
    for i in range(open_index, len(code)):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


def mutants_of(path, text):
    lines = text.split("\n")
    masks = code_masks(lines)
    found = []
    previous_code = ""
    for number, (line, code) in enumerate(zip(lines, masks), start=1):
        stripped = code.strip()
        if stripped.startswith("#"):
            previous_code = stripped or previous_code
            continue

        def add(operator, start, end, replacement):
            found.append(Mutant(path, number, operator, start, end, line[start:end], replacement))

        for match in re.finditer(r"\b(if|while) \(", code):
            open_index = match.end() - 1
            close = matching_paren(code, open_index)
            if close is not None:
                condition = line[open_index + 1 : close]
                add("negate", open_index, close + 1, f"(!({condition}))")
        for match in re.finditer(r"&&|\|\|", code):
            add("and-or", match.start(), match.end(), "||" if match.group() == "&&" else "&&")
        for match in re.finditer(r"[=!]=", code):
            add("eq-ne", match.start(), match.end(), "!=" if match.group() == "==" else "==")
        for match in re.finditer(r" (<=|>=|<|>) ", code):
            op = match.group(1)
            flipped = {"<=": "<", ">=": ">", "<": "<=", ">": ">="}[op]
            add("boundary", match.start(1), match.end(1), flipped)
        for match in re.finditer(r"\b(true|false)\b", code):
            add("bool", match.start(), match.end(), "false" if match.group() == "true" else "true")
        for match in re.finditer(r"(?<![\w.])(\d+)(?![\w.])", code):
            value = int(match.group(1))
            add("constant", match.start(), match.end(), "1" if value == 0 else ("0" if value == 1 else str(value + 1)))
        for match in re.finditer(r"-E[A-Z]+\b", code):
            add("errno", match.start(), match.end(), "0")
        # A whole statement: indented (inside a function), complete on its line, at the start
        # of a statement; data tables (static const ...) and declarations of locals are left to
        # the compiler, which rejects most of their removals (stillborn).
        starts_statement = previous_code.endswith((";", "{", "}", ":")) or previous_code == ""
        if (
            code.startswith("    ")
            and stripped.endswith(";")
            and starts_statement
            and not stripped.startswith(("static ", "using ", "namespace ", "}"))
            and stripped.count("(") == stripped.count(")")
        ):
            indent = len(line) - len(line.lstrip())
            add("drop", indent, len(line), "")
        if stripped:
            previous_code = stripped
    return found


def apply(mutant, text):
    lines = text.split("\n")
    line = lines[mutant.line - 1]
    lines[mutant.line - 1] = line[: mutant.start] + mutant.replacement + line[mutant.end :]
    return "\n".join(lines)


def all_mutants(root):
    sources = sorted(
        os.path.join("impl/src", name) for name in os.listdir(os.path.join(root, "impl/src")) if name.endswith(".cpp")
    )
    result = []
    for path in sources:
        with open(os.path.join(root, path)) as handle:
            result.extend(mutants_of(path, handle.read()))
    return result


def run(command, cwd, timeout=None, env=None):
    return subprocess.run(
        command, cwd=cwd, timeout=timeout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def prepare(repo, work, commit):
    if not os.path.isdir(os.path.join(work, ".git")):
        subprocess.run(["git", "clone", "-q", repo, work], check=True)
    subprocess.run(["git", "-C", work, "fetch", "-q", repo], check=True)
    subprocess.run(["git", "-C", work, "checkout", "-q", "--force", commit], check=True)
    build = os.path.join(work, "build")
    if not os.path.isfile(os.path.join(build, "build.ninja")):
        configure = ["cmake", "-S", work, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]
        if shutil.which("ccache"):
            configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        if shutil.which("ld.lld"):  # six programs relinked per mutant: 3 s each with lld, 17 s with ld
            configure.append("-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld")
        subprocess.run(configure, check=True, stdout=subprocess.DEVNULL)
    targets = [target for _, target, _ in TEST_PROGRAMS]
    subprocess.run(["cmake", "--build", build, "--target", *targets], check=True, stdout=subprocess.DEVNULL)
    return build


def first_failure(output):
    match = re.search(r"^\[  FAILED  \] (\S+)", output, re.MULTILINE)
    return match.group(1) if match else None


def test_mutant(mutant, work, build, original_text):
    """Returns (status, detail, seconds)."""
    path = os.path.join(work, mutant.path)
    started = time.monotonic()
    with open(path, "w") as handle:
        handle.write(apply(mutant, original_text))
    try:
        for name, target, program in TEST_PROGRAMS:
            built = run(["cmake", "--build", build, "--target", target], cwd=work)
            if built.returncode != 0:
                if name == "impl":
                    return "stillborn", "does not compile", time.monotonic() - started
                raise RuntimeError(f"{target} does not build although impl/ compiled:\n{built.stdout[-2000:]}")
            try:
                result = run([os.path.join(build, program)], cwd=work, timeout=TEST_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                return "killed", f"{name}: timed out after {TEST_TIMEOUT_SECONDS} s", time.monotonic() - started
            if result.returncode != 0:
                failed = first_failure(result.stdout) or f"exit code {result.returncode}"
                return "killed", f"{name}: {failed}", time.monotonic() - started
        return "survived", "", time.monotonic() - started
    finally:
        with open(path, "w") as handle:
            handle.write(original_text)


def read_explanations(root):
    explanations = {}
    path = os.path.join(root, SURVIVORS_FILE)
    if os.path.isfile(path):
        with open(path) as handle:
            for line in handle:
                if line.strip() and not line.startswith("#"):
                    ident, _, reason = line.rstrip("\n").partition("\t")
                    explanations[ident] = reason
    return explanations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--sample", type=int, help="a seeded sample of N mutants")
    parser.add_argument("--seed", type=int, default=1, help="the sample's seed (default 1)")
    parser.add_argument("--only", action="append", default=[], help="only this mutant (repeatable)")
    parser.add_argument("--work", default="/tmp/handoff-impl-mutation", help="the clone and its build")
    parser.add_argument("--render", help="print the report of a run's results.json")
    parser.add_argument("--rerun", help="with --render: an --only run of the survivors, at a later commit")
    args = parser.parse_args()
    if args.render:
        return render(args.render, args.rerun)

    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True).stdout.strip()
    mutants = all_mutants(root)
    if args.list:
        for mutant in mutants:
            print(f"{mutant.ident}\t{mutant.describe()}")
        return 0
    chosen = mutants
    if args.only:
        by_id = {mutant.ident: mutant for mutant in mutants}
        unknown = [ident for ident in args.only if ident not in by_id]
        if unknown:
            print(f"impl_mutation: no mutant {unknown[0]} (--list shows them)", file=sys.stderr)
            return 2
        chosen = [by_id[ident] for ident in args.only]
    elif args.sample is not None:
        if not 0 < args.sample <= len(mutants):
            print(f"impl_mutation: --sample {args.sample}: expected 1 to {len(mutants)}", file=sys.stderr)
            return 2
        chosen = sorted(random.Random(args.seed).sample(mutants, args.sample), key=lambda m: (m.path, m.line, m.start))

    commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    started = time.monotonic()
    build = prepare(root, args.work, commit)
    prepared = time.monotonic() - started
    for name, target, program in TEST_PROGRAMS:
        baseline = run([os.path.join(build, program)], cwd=args.work, timeout=TEST_TIMEOUT_SECONDS)
        if baseline.returncode != 0:
            print(f"impl_mutation: {target} fails without a mutant; fix that first", file=sys.stderr)
            return 1

    results = []
    texts = {}
    for index, mutant in enumerate(chosen, start=1):
        if mutant.path not in texts:
            with open(os.path.join(args.work, mutant.path)) as handle:
                texts[mutant.path] = handle.read()
        status, detail, seconds = test_mutant(mutant, args.work, build, texts[mutant.path])
        results.append((mutant, status, detail, seconds))
        print(f"[{index}/{len(chosen)}] {mutant.ident} {status} {detail} ({seconds:.1f} s)", file=sys.stderr, flush=True)
    # Leave the clone's build matching its sources.
    run(["cmake", "--build", build, "--target", *[target for _, target, _ in TEST_PROGRAMS]], cwd=args.work)
    data = {
        "command": command_of(args),
        "date": datetime.date.today().isoformat(),
        "commit": commit,
        "mutants_generated": len(mutants),
        "sample": args.sample,
        "prepared_seconds": prepared,
        "seconds": time.monotonic() - started - prepared,
        "results": [
            {"id": m.ident, "path": m.path, "line": m.line, "operator": m.operator, "change": m.describe(),
             "status": status, "detail": detail, "seconds": seconds}
            for m, status, detail, seconds in results
        ],
    }
    out = os.path.join(args.work, "results-only.json" if args.only else "results.json")
    with open(out, "w") as handle:
        json.dump(data, handle, indent=1)
    print(f"impl_mutation: results in {out}", file=sys.stderr)
    report(data, None, read_explanations(root))
    return 0


def command_of(args):
    command = "bench/impl_mutation.py"
    if args.sample is not None:
        command += f" --sample {args.sample} --seed {args.seed}"
    for ident in args.only:
        command += f" --only {ident}"
    return command


def render(path, rerun_path):
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True).stdout.strip()
    with open(path) as handle:
        data = json.load(handle)
    rerun = None
    if rerun_path:
        with open(rerun_path) as handle:
            rerun = json.load(handle)
    report(data, rerun, read_explanations(root))
    return 0


def report(data, rerun, explanations):
    results = data["results"]
    later = {r["id"]: r for r in rerun["results"]} if rerun else {}
    counts = {"killed": 0, "survived": 0, "stillborn": 0}
    by_operator = {}
    for r in results:
        counts[r["status"]] += 1
        by_operator.setdefault(r["operator"], {"killed": 0, "survived": 0, "stillborn": 0})[r["status"]] += 1
    survivors = [r for r in results if r["status"] == "survived"]

    def score(killed, survived):
        return f"{100.0 * killed / (killed + survived):.1f} %" if killed + survived else "-"

    print("# Mutation testing of impl/")
    print()
    print(f"Generated by `{data['command']}` on {data['date']}, commit {data['commit'][:12]}, on this machine")
    print(f"({platform.machine()}, {os.cpu_count()} cores). The script's docstring says what a mutant is and when it")
    print("counts as killed; the tests are, in order, " + ", ".join(t for _, t, _ in TEST_PROGRAMS) + ",")
    print("each at its full budget. Score: killed / (killed + survived); a mutant that does not compile is")
    print(f"stillborn and left out. Every survivor's explanation is in `{SURVIVORS_FILE}`.")
    print()
    if data.get("sample") is not None:
        print(f"A seeded sample of {len(results)} of the {data['mutants_generated']} mutants.")
        print()
    print("| operator | mutants | killed | survived | stillborn | score |")
    print("|---|---|---|---|---|---|")
    for operator in sorted(by_operator):
        c = by_operator[operator]
        total = sum(c.values())
        print(f"| {operator} | {total} | {c['killed']} | {c['survived']} | {c['stillborn']} | {score(c['killed'], c['survived'])} |")
    print(f"| **all** | {len(results)} | {counts['killed']} | {counts['survived']} | {counts['stillborn']} | {score(counts['killed'], counts['survived'])} |")
    print()
    print("## What killed them")
    print()
    killers = {}
    for r in results:
        if r["status"] == "killed":
            program = r["detail"].split(":")[0]
            killers[program] = killers.get(program, 0) + 1
    for program, count in sorted(killers.items(), key=lambda item: -item[1]):
        print(f"* {program}: {count}")
    print()
    print("## Survivors")
    print()
    if rerun:
        print(f"Rerun at commit {rerun['commit'][:12]} (`{rerun['command'].split(' --only')[0]} --only ...`, the survivors")
        print("a later test should kill): its outcome follows each of them.")
        print()
    if not survivors:
        print("None.")
    killed_later = equivalent = unexplained = 0
    for r in survivors:
        reason = explanations.get(r["id"])
        again = later.get(r["id"])
        note = ""
        if again:
            note = f" Rerun at {rerun['commit'][:12]}: **{again['status']}** ({again['detail'] or 'every test passed'})."
        if again and again["status"] == "killed":
            killed_later += 1
        elif reason and reason.startswith("Equivalent"):
            equivalent += 1
        else:
            unexplained += 1
        print(f"* `{r['id']}` ({r['path']} line {r['line']}): {r['change']}. {reason or '**not explained**'}{note}")
    print()
    print(f"Of the {len(survivors)} survivors: {killed_later} killed by a test added since (rerun above), {equivalent} equivalent,")
    print(f"{unexplained} neither. Score with the later tests and without the equivalent mutants:")
    final_killed = counts["killed"] + killed_later
    print(f"{score(final_killed, counts['survived'] - killed_later - equivalent)}.")
    print()
    compiled = sorted(r["seconds"] for r in results if r["status"] != "stillborn")
    rate = len(results) / data["seconds"] if data["seconds"] else 0
    median = compiled[len(compiled) // 2] if compiled else 0
    print(f"{len(results)} mutants in {data['seconds']:.0f} s ({rate:.3f} per second; median {median:.1f} s for one that")
    print(f"compiled); the clone's build beforehand {data['prepared_seconds']:.0f} s.")


if __name__ == "__main__":
    sys.exit(main())
