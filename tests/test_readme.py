"""The README documents what the code does: config defaults, CLI usage, output columns."""

from __future__ import annotations

from pathlib import Path

from syndicate.cli import build_parser
from syndicate.config import Config
from syndicate.pipeline import RINGS_COLUMNS

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_shows_the_default_config_exactly() -> None:
    assert f"```toml\n{Config().to_toml()}```" in README


def test_readme_names_every_run_option_and_ring_column() -> None:
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    options = {opt for action in run._actions for opt in action.option_strings}
    for option in options - {"-h", "--help", "-q", "-v", "--verbose"}:
        assert option in README, option
    for column in RINGS_COLUMNS:
        assert f"`{column}`" in README, column
