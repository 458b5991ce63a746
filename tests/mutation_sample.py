"""Run mutmut over a fixed random sample of each core module's mutants (tests/README.md).

From the repository root, with mutmut 3.8.1 installed:
    python tests/mutation_sample.py            # generate, draw, run the sample, print the table
    python tests/mutation_sample.py --report   # the table of the last run only
"""

import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path

import mutmut.__main__ as mutmut_cli
from mutmut.stats import status_by_exit_code

SEED = 13
SHARE = 0.02    # of each module's mutants,
MINIMUM = 20    # but no fewer than this (or all of a smaller module)


def generate_mutants():
    """mutmut's own first step: mutants/ and one .meta file per module naming its mutants."""
    mutmut_cli.copy_src_dir()
    mutmut_cli.copy_also_copy_files()
    mutmut_cli.create_mutants(2)


def mutants_by_module():
    root = Path("mutants/zen")
    return {str(meta.relative_to(root)).removesuffix(".py.meta"):
            json.loads(meta.read_text())["exit_code_by_key"]
            for meta in sorted(root.rglob("*.py.meta"))}


def draw_sample(names, module):
    """The same names for the same mutants, whatever other modules hold."""
    size = min(len(names), max(MINIMUM, round(SHARE * len(names))))
    return sorted(random.Random(f"{SEED}:{module}").sample(sorted(names), size))


def wilson_interval(successes, trials, z=1.96):
    """The binomial 95 % interval of a proportion (Wilson's score interval)."""
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return centre - spread / (1 + z * z / trials), centre + spread / (1 + z * z / trials)


def report(samples):
    print("module | mutants | sample | killed | survived | timeout | no tests | score | 95 %")
    for module, (total, sample, results) in samples.items():
        statuses = [status_by_exit_code[results[name]] for name in sample]
        counts = {status: statuses.count(status)
                  for status in ("killed", "survived", "timeout", "no tests")}
        killed = counts["killed"] + counts["timeout"]    # a hang is a change the tests noticed
        low, high = wilson_interval(killed, len(sample))
        print(f"{module} | {total} | {len(sample)} | " + " | ".join(map(str, counts.values()))
              + f" | {killed / len(sample):.0%} | {low:.0%}-{high:.0%}")
        for name in sample:
            if status_by_exit_code[results[name]] not in ("killed", "timeout"):
                print(f"    {status_by_exit_code[results[name]]}: {name}")


def main():
    if "--report" not in sys.argv:
        generate_mutants()
    names = mutants_by_module()
    sample = [name for module in names for name in draw_sample(names[module], module)]
    if "--report" not in sys.argv:
        started = time.monotonic()
        mutmut = Path(sys.executable).parent / "mutmut"
        subprocess.run(["nice", "-n", "10", mutmut, "run", "--max-children", "2", *sample],
                       check=True)
        print(f"ran {len(sample)} mutants in {time.monotonic() - started:.0f} s")
    results = mutants_by_module()
    report({module: (len(results[module]), draw_sample(results[module], module), results[module])
            for module in results})


if __name__ == "__main__":
    main()
