"""`convo-contracts run --help` for someone who never ran it: every option says what it is and
what goes after it, the epilog says what a run needs, shows two runs and lists every exit
status from its one source (`contracts.errors.EXIT_CODES`)."""

from __future__ import annotations

import argparse

from contracts.cli import build_parser, main
from contracts.errors import EXIT_CODES, SIGNAL_EXIT
from contracts.settings import BY_NAME, SETTINGS, WORKERS_LIMIT


def _run_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = commands.choices["run"]
    assert isinstance(parser, argparse.ArgumentParser)
    return parser


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_every_run_option_has_help_and_says_what_goes_after_it() -> None:
    options = _options(_run_parser())
    assert {a.dest for a in options} == {s.name for s in SETTINGS}
    for action in options:
        assert action.help and len(action.help) > 10, action.dest
        takes_value = action.nargs != 0
        if takes_value:
            assert action.metavar, action.dest
            assert action.metavar != action.dest.upper(), action.dest
        else:
            assert action.metavar is None, action.dest
    by_dest = {a.dest: a.metavar for a in options}
    assert by_dest["base_url"] == by_dest["runtype_url"] == "URL"
    assert by_dest["api_key"] == by_dest["other_key"] == by_dest["systemprompt_readonly_key"] == "KEY"
    assert by_dest["only"] == "FAMILY,..."
    assert by_dest["html"] == by_dest["json"] == "PATH"
    assert by_dest["workers"] == "N" and by_dest["timeout"] == by_dest["max_duration"] == "SECONDS"


def test_metavars_come_from_the_settings_table() -> None:
    for action in _options(_run_parser()):
        assert action.metavar == BY_NAME[action.dest].metavar


def test_workers_help_says_it_is_one_before_python_3_13_and_why() -> None:
    workers = next(a for a in _options(_run_parser()) if a.dest == "workers")
    assert workers.help is not None and WORKERS_LIMIT in workers.help
    assert "3.13" in WORKERS_LIMIT and "gh-106905" in WORKERS_LIMIT


def test_the_epilog_lists_every_exit_code_from_its_source() -> None:
    parser = _run_parser()
    assert parser.description and parser.epilog
    lines = parser.epilog.split("exit status:\n", 1)[1].splitlines()
    listed: dict[int, str] = {}
    for line in lines:
        head = line.strip().split("  ", 1)
        if head[0].isdigit() and len(head) == 2:
            listed[int(head[0])] = head[1]
        elif listed and line.startswith("     "):
            last = max(listed)
            listed[last] += " " + line.strip()
    assert listed == EXIT_CODES
    assert " ".join(SIGNAL_EXIT.split()) in " ".join(" ".join(lines).split())


def test_the_epilog_names_the_required_options_and_shows_two_runs() -> None:
    epilog = _run_parser().epilog or ""
    required = epilog.split("required:", 1)[1].split("examples:", 1)[0]
    for name in ("base_url", "api_key"):
        assert BY_NAME[name].option in required and BY_NAME[name].env in required
    examples = [line.strip() for line in epilog.split("examples:", 1)[1].split("exit status:")[0].splitlines()]
    runs = [line for line in examples if line.startswith("convo-contracts run ")]
    assert len(runs) == 2
    assert "http://127.0.0.1" in runs[0] and "https://" in runs[1]
    # The second takes its keys from the environment: no key on its command line.
    assert BY_NAME["api_key"].option not in runs[1]
    assert any(line.startswith("export ") and BY_NAME["api_key"].env in line for line in examples)


def test_the_first_example_parses_into_settings() -> None:
    epilog = _run_parser().epilog or ""
    block = epilog.split("examples:", 1)[1].split("\n\n", 1)[0]
    argv = " ".join(line.strip().rstrip("\\") for line in block.splitlines() if not line.strip().startswith("#"))
    words = argv.split()
    assert words[:2] == ["convo-contracts", "run"]
    args = build_parser().parse_args(words[1:])
    assert args.base_url == "http://127.0.0.1:8000" and args.api_key == "demo-alice"


def test_a_run_without_a_url_exits_with_the_code_of_could_not_run(capsys: object) -> None:
    code = main(["run", "--api-key", "k"])
    assert EXIT_CODES[code].startswith("could not run")
