"""Verdicts: failures decide the exit code, observations only under --strict."""

from contracts.results import Evidence, Failure, Observation, Outcome, RunResult, Status


def outcome(check: str = "c") -> Outcome:
    return Outcome("runtype", "listConversations", "GET", "/v1/conversations", "boundaries", check)


def observation(what: str = "undocumented constraint: `limit=-5` answered 400") -> Observation:
    return Observation(what, Evidence("400 application/json {}"), "runtype.yaml#/paths/~1v1~1conversations/get")


def test_an_observation_alone_is_observed_and_exit_0_unless_strict() -> None:
    seen = outcome()
    seen.add_observation(observation())
    seen.add_observation(observation())
    assert seen.status is Status.OBSERVED and len(seen.observations) == 1 and seen.observations[0].count == 2
    assert RunResult([seen]).exit_code == 0
    assert RunResult([seen], strict=True).exit_code == 1


def test_a_failure_wins_over_observations_in_either_order() -> None:
    first, second = outcome("a"), outcome("b")
    first.add_observation(observation())
    first.add_failure(Failure("400", Evidence("200"), "p"))
    second.add_failure(Failure("400", Evidence("200"), "p"))
    second.add_observation(observation())
    assert first.status is second.status is Status.FAILED
    assert RunResult([first, second]).exit_code == 1
    assert RunResult([outcome()]).exit_code == 0
    assert RunResult([outcome()], leftovers=["runtype conv_1 (delete answered 500)"]).exit_code == 1
