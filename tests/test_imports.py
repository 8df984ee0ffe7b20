"""Importing is cheap: ``import syndicate`` and ``syndicate --help`` load no heavy libraries.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import syndicate

#: Libraries (and our modules that import them) that help and ``synth`` must not load.
GRAPH_AND_MODEL = (
    "sklearn",
    "skops",
    "igraph",
    "leidenalg",
    "networkx",
    "pyvis",
    "syndicate.model",
    "syndicate.scoring",
    "syndicate.graphs",
    "syndicate.features",
    "syndicate.pipeline",
    "syndicate.viz",
)
#: Not needed to print help either: SciPy, the progress bars and the rest of the job.
HELP_HEAVY = (
    *GRAPH_AND_MODEL,
    "scipy",
    "rich.progress",
    "syndicate.progress",
    "syndicate.evaluate",
    "syndicate.job",
)


def _loaded_after(code: str, *, cwd: Path | None = None) -> list[str]:
    """The modules of ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def _present(loaded: list[str], heavy: tuple[str, ...]) -> list[str]:
    """The packages of ``heavy`` that ``loaded`` holds (the package or any submodule)."""
    return [name for name in heavy if any(m == name or m.startswith(f"{name}.") for m in loaded)]


def test_help_imports_no_heavy_modules() -> None:
    loaded = _loaded_after(
        """
        import contextlib, io
        import syndicate.cli

        syndicate.cli.build_parser()
        commands = ("demo", "synth", "run", "evaluate", "viz")
        for argv in (["--help"], *([command, "--help"] for command in commands)):
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = syndicate.cli.main(argv)
                except SystemExit as exc:
                    code = exc.code
            assert code == 0, (argv, code)
        """
    )
    assert _present(loaded, HELP_HEAVY) == []


def test_synth_imports_no_graph_or_model_libraries(tmp_path: Path) -> None:
    loaded = _loaded_after(
        f"""
        import contextlib, io
        from syndicate.cli import main

        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["synth", "--sellers", "200", "--out", {str(tmp_path)!r}, "-q"]) == 0
        """
    )
    assert (tmp_path / "sellers.parquet").is_file()
    assert _present(loaded, GRAPH_AND_MODEL) == []


def test_import_syndicate_alone_loads_only_the_package() -> None:
    loaded = _loaded_after("import syndicate")
    assert [m for m in loaded if m.startswith("syndicate")] == ["syndicate"]
    assert _present(loaded, (*HELP_HEAVY, "polars", "numpy", "pyarrow", "pandas", "rich")) == []


def test_every_public_name_imports_and_is_the_defining_modules_object() -> None:
    names = [name for name in syndicate.__all__ if name != "__version__"]
    loaded = _loaded_after(
        f"""
        import importlib
        from importlib.metadata import version

        import syndicate
        from syndicate import {", ".join(syndicate.__all__)}

        for name in {names!r}:
            defining = importlib.import_module(syndicate._EXPORTS[name])
            assert globals()[name] is getattr(defining, name), name
            assert getattr(syndicate, name) is getattr(defining, name), name
        assert __version__ == syndicate.__version__ == version("syndicate")
        assert set(syndicate.__all__) <= set(dir(syndicate))
        try:
            syndicate.no_such_name
        except AttributeError:
            pass
        else:
            raise AssertionError("syndicate.no_such_name did not raise AttributeError")
        """
    )
    assert "syndicate.model" in loaded


def test_lazy_names_match_the_type_checking_imports() -> None:
    """The ``TYPE_CHECKING`` imports (what mypy sees) name the same modules as the lookup."""
    tree = ast.parse(Path(syndicate.__file__).read_text(encoding="utf-8"))
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    imported = {
        alias.name: node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == syndicate._EXPORTS
    assert set(imported) | {"__version__"} == set(syndicate.__all__)
