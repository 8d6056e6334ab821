"""The stage table is the machine DESIGN.md draws: nothing more, nothing less."""

from __future__ import annotations

import pytest

from workflow.core import stages
from workflow.core.stages import COVERED, OPEN, OUTSTANDING, RESOLVED, Action, Stage

FINAL = (Stage.EXCLUDED, Stage.DEPARTED, Stage.NOT_IN_CUSTODY)
# DESIGN.md's open stages, in pipeline order: written out, not read from the code under test.
OPEN_STAGES = (Stage.INTAKE, Stage.LOCATING, Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED)


def edges() -> set[tuple[Action, Stage, Stage]]:
    return {(t.action, t.source, t.target) for t in stages.TRANSITIONS}


def test_every_stage_is_reachable_from_intake() -> None:
    reached, frontier = {Stage.INTAKE}, [Stage.INTAKE]
    while frontier:
        for transition in stages.allowed_from(frontier.pop()):
            if transition.target not in reached:
                reached.add(transition.target)
                frontier.append(transition.target)
    assert reached == set(Stage)


@pytest.mark.parametrize("stage", FINAL)
def test_excluded_departed_and_not_in_custody_are_final(stage: Stage) -> None:
    assert stages.allowed_from(stage) == []


def test_the_only_way_out_of_released_is_redetention() -> None:
    assert [(t.action, t.target) for t in stages.allowed_from(Stage.RELEASED)] == [
        (Action.REDETAIN, Stage.LOCATING)
    ]


def test_no_two_rows_share_an_action_and_a_source() -> None:
    keys = [(t.action, t.source) for t in stages.TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_the_table_is_exactly_the_design() -> None:
    design = {
        (Action.SEARCH, Stage.INTAKE, Stage.LOCATING),
        (Action.LOCATE, Stage.INTAKE, Stage.LOCATED),
        (Action.LOCATE, Stage.LOCATING, Stage.LOCATED),
        (Action.TRANSFER, Stage.LOCATED, Stage.LOCATING),
        (Action.TRANSFER, Stage.BOND_SET, Stage.LOCATING),
        (Action.TRANSFER, Stage.BOND_POSTED, Stage.LOCATING),
        (Action.BOND, Stage.LOCATED, Stage.BOND_SET),
        (Action.BOND, Stage.BOND_SET, Stage.BOND_SET),
        (Action.POST, Stage.BOND_SET, Stage.BOND_POSTED),
        (Action.RELEASE, Stage.BOND_POSTED, Stage.RELEASED),
        (Action.RELEASE, Stage.LOCATED, Stage.RELEASED),
        (Action.REDETAIN, Stage.RELEASED, Stage.LOCATING),
    }
    for stage in OPEN_STAGES:
        design |= {(Action.EXCLUDE, stage, Stage.EXCLUDED), (Action.DEPART, stage, Stage.DEPARTED),
                   (Action.NOT_IN_CUSTODY, stage, Stage.NOT_IN_CUSTODY)}
    assert edges() == design


@pytest.mark.parametrize("source", [Stage.INTAKE, Stage.LOCATING])
def test_locate_works_from_intake_and_locating_and_needs_a_facility(source: Stage) -> None:
    transition = stages.find(Action.LOCATE, source)
    assert transition is not None and transition.target is Stage.LOCATED
    assert transition.requires == ("facility",)


@pytest.mark.parametrize("source", [Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED])
def test_a_transfer_sends_the_person_back_to_be_located(source: Stage) -> None:
    transition = stages.find(Action.TRANSFER, source)
    assert transition is not None and transition.target is Stage.LOCATING
    assert transition.requires == ("facility",)


@pytest.mark.parametrize("source", [Stage.INTAKE, Stage.LOCATING, Stage.RELEASED])
def test_there_is_no_transfer_of_someone_not_located(source: Stage) -> None:
    assert stages.find(Action.TRANSFER, source) is None


def test_release_from_located_needs_a_reason_but_after_posting_does_not() -> None:
    assert stages.find(Action.RELEASE, Stage.LOCATED).requires == ("reason",)  # type: ignore[union-attr]
    assert stages.find(Action.RELEASE, Stage.BOND_POSTED).requires == ()  # type: ignore[union-attr]


@pytest.mark.parametrize("source", [Stage.INTAKE, Stage.LOCATING, Stage.BOND_SET])
def test_release_is_forbidden_before_location_or_posting(source: Stage) -> None:
    assert stages.find(Action.RELEASE, source) is None


@pytest.mark.parametrize("source", OPEN_STAGES)
@pytest.mark.parametrize(
    ("action", "target"),
    [(Action.EXCLUDE, Stage.EXCLUDED), (Action.DEPART, Stage.DEPARTED),
     (Action.NOT_IN_CUSTODY, Stage.NOT_IN_CUSTODY)],
)
def test_every_open_stage_can_end_in_exclusion_departure_or_not_in_custody(
    source: Stage, action: Action, target: Stage
) -> None:
    transition = stages.find(action, source)
    assert transition is not None and transition.target is target
    assert transition.requires == (("reason",) if action is Action.EXCLUDE else ())


def test_stage_groups_follow_the_design() -> None:
    assert RESOLVED == {Stage.RELEASED, Stage.DEPARTED, Stage.NOT_IN_CUSTODY}
    assert COVERED == set(Stage) - {Stage.EXCLUDED}
    assert OUTSTANDING == set(OPEN_STAGES) and OPEN == OPEN_STAGES


def test_describe_allowed_lists_the_moves_and_what_they_need() -> None:
    assert stages.describe_allowed(Stage.LOCATED) == (
        "transfer (needs facility), bond, release (needs reason), exclude (needs reason),"
        " depart, not-in-custody"
    )
    assert stages.describe_allowed(Stage.RELEASED) == "redetain"


@pytest.mark.parametrize("stage", FINAL)
def test_describe_allowed_says_a_final_stage_is_final(stage: Stage) -> None:
    assert stages.describe_allowed(stage) == "none (this stage is final)"
