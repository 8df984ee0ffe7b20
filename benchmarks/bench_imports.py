"""Start-up cost of the command line and the package: import time and wall time.

    python benchmarks/bench_imports.py               # 7 runs of each
    python benchmarks/bench_imports.py --repeat 15

For ``syndicate --help``, ``syndicate synth --help`` and ``python -c "import syndicate"``,
each in fresh interpreters:

* import time from ``python -X importtime``: the cumulative microseconds of the top-level
  module (``syndicate.cli`` or ``syndicate``), and of every import from that one on (what
  the command imports later, inside ``main``, included); the median over the runs;
* the wall seconds of the whole process (interpreter start-up included): min and median.

Run it twice to compare warm figures (the first run after an install also compiles
bytecode and fills the page cache). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: What the import-time runs of the help commands execute (the console script's own call).
_HELP = "import sys; from syndicate.cli import main; sys.exit(main({argv!r}))"


def _scenarios() -> list[tuple[str, list[str], list[str], str]]:
    """Each scenario: its name, its wall-time command, its importtime command, its module."""
    python = sys.executable
    script = shutil.which("syndicate", path=str(Path(python).parent)) or shutil.which("syndicate")
    cli = [script] if script else [python, "-m", "syndicate.cli"]
    return [
        (
            "syndicate --help",
            [*cli, "--help"],
            [python, "-X", "importtime", "-c", _HELP.format(argv=["--help"])],
            "syndicate.cli",
        ),
        (
            "syndicate synth --help",
            [*cli, "synth", "--help"],
            [python, "-X", "importtime", "-c", _HELP.format(argv=["synth", "--help"])],
            "syndicate.cli",
        ),
        (
            'python -c "import syndicate"',
            [python, "-c", "import syndicate"],
            [python, "-X", "importtime", "-c", "import syndicate"],
            "syndicate",
        ),
    ]


def import_times(command: list[str], module: str) -> tuple[int, int]:
    """Cumulative µs of ``module`` and of every top-level import from it on, in one run."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    top: list[tuple[str, int]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not cumulative.strip().isdigit() or name.startswith("  "):  # header; nested
            continue
        top.append((name.strip(), int(cumulative)))
    names = [name for name, _ in top]
    if module not in names:
        return 0, 0
    first = names.index(module)
    return top[first][1], sum(us for _, us in top[first:])


def wall_seconds(command: list[str]) -> float:
    """The wall seconds of running ``command`` once, output discarded."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7, help="runs of each (default 7)")
    args = parser.parse_args()
    env_note = f"python {sys.version.split()[0]} ({os.path.basename(sys.executable)})"
    print(f"{'':<30} {'module µs':>11} {'all µs':>11} {'wall min s':>11} {'wall med s':>11}")
    for name, command, timed, module in _scenarios():
        wall_seconds(command)  # warm-up: bytecode and page cache
        imports = [import_times(timed, module) for _ in range(args.repeat)]
        walls = [wall_seconds(command) for _ in range(args.repeat)]
        own = statistics.median(us for us, _ in imports)
        total = statistics.median(us for _, us in imports)
        print(
            f"{name:<30} {own:>11,.0f} {total:>11,.0f} {min(walls):>11.3f} "
            f"{statistics.median(walls):>11.3f}"
        )
    print(f"({args.repeat} runs each; {env_note})")


if __name__ == "__main__":
    main()
