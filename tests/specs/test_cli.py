"""The one parser base of both command lines: an argument error is one printable line on
stderr and exit 2, never the usage block, never a raw control byte."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from contracts.cli import build_parser as contracts_parser
from mockserver.cli import build_parser as mock_parser
from specs.cli import CANNOT_RUN, OneLineParser


@pytest.mark.parametrize(
    ("build", "argv"),
    [(contracts_parser, ["run", "--no-such\x1b]0;owned\x07"]), (mock_parser, ["--no-such\x1b]0;owned\x07"])],
    ids=["convo-contracts", "convo-mock"],
)
def test_an_unknown_option_is_one_printable_line_and_exit_2(
    build: Callable[[], argparse.ArgumentParser], argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build()
    assert isinstance(parser, OneLineParser)
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(argv)
    assert stopped.value.code == CANNOT_RUN == 2
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith(f"{parser.prog}: error: unrecognized arguments: --no-such\\x1b]0;owned\\x07")
    assert line.endswith("(see --help)") and "\x1b" not in err and "\x07" not in err
