"""Every family is a module with `CHECKS` and the read-only subset it declares; the runner
reads those and nothing else (no family is a special case)."""

from __future__ import annotations

import pytest

from contracts.families import applies
from contracts.families.semantics import list_then_get_agree, runtype_round_trip, systemprompt_update_visible
from contracts.runner import checks_of, load_family
from contracts.settings import FAMILIES


@pytest.mark.parametrize("name", FAMILIES)
def test_each_family_declares_its_checks_and_its_read_only_subset(name: str) -> None:
    family = load_family(name)
    assert family.CHECKS and all(callable(c) for c in family.CHECKS)
    assert set(family.READ_ONLY_CHECKS) <= set(family.CHECKS)
    for api in ("runtype", "systemprompt"):
        everything = checks_of(name, api, read_only=False)
        read_only = checks_of(name, api, read_only=True)
        assert everything and set(read_only) <= set(everything)
        assert [c for c in everything if c in read_only] == read_only  # the same order


def test_a_check_of_one_api_runs_for_that_api_only() -> None:
    assert applies(runtype_round_trip, "runtype") and not applies(runtype_round_trip, "systemprompt")
    assert applies(systemprompt_update_visible, "systemprompt") and not applies(systemprompt_update_visible, "runtype")
    assert checks_of("semantics", "systemprompt", read_only=False) == [systemprompt_update_visible, list_then_get_agree]
    assert checks_of("semantics", "runtype", read_only=True) == [list_then_get_agree]
