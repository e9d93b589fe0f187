"""The moderation actions table (server/moderation/actions.py): each rule, and what derives
from the table (the request schema, the queue's buttons, the widget's labels)."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from server.errors import Conflict
from server.model import CommentRecord, Status
from server.moderation import actions
from server.moderation.review import item
from server.validation import ModerationRequest, RequestError, decode

STRINGS = Path(__file__).resolve().parent.parent / "client-js" / "src" / "strings.js"
DECISION = actions.Decision(by="Lisa", reason="off topic", now=1_700_000_100.0)


def _comment(
    status: Status = "visible",
    *,
    flag: str | None = None,
    edit: bool = False,
    pinned: bool = False,
) -> CommentRecord:
    return CommentRecord(
        id="c1",
        site="news",
        thread="t",
        parent=None,
        author_name="Ann",
        body_source="first",
        body_html="<p>first</p>",
        status=status,
        created_at=1_700_000_000.0,
        flag=flag,
        pending_body_source="second" if edit else None,
        pending_body_html="<p>second</p>" if edit else None,
        pinned=pinned,
    )


SHAPES = {
    "visible": _comment(),
    "flagged": _comment(flag="suspect words"),
    "held_edit": _comment(edit=True),
    "pinned": _comment(pinned=True),
    "pending": _comment("pending"),
    "removed": _comment("removed"),
}

# What each action does to each shape: its effect, or None when it is refused (409).
EXPECTED: dict[str, dict[str, str | None]] = {
    "approve": {
        "visible": "none",
        "flagged": "update",
        "held_edit": "decide_edit",
        "pinned": "none",
        "pending": "approve",
        "removed": None,
    },
    "reject": {
        "visible": None,
        "flagged": None,
        "held_edit": "decide_edit",
        "pinned": None,
        "pending": "take_down",
        "removed": None,
    },
    "remove": {
        "visible": "take_down",
        "flagged": "take_down",
        "held_edit": "take_down",
        "pinned": "take_down",
        "pending": "take_down",
        "removed": "none",
    },
    "restore": {
        "visible": "none",
        "flagged": "none",
        "held_edit": "none",
        "pinned": "none",
        "pending": None,
        "removed": "restore",
    },
    "pin": {
        "visible": "edit",
        "flagged": "edit",
        "held_edit": "edit",
        "pinned": "none",
        "pending": None,
        "removed": None,
    },
    "unpin": {
        "visible": "none",
        "flagged": "none",
        "held_edit": "none",
        "pinned": "edit",
        "pending": None,
        "removed": None,
    },
    "hold": {
        "visible": "take_down",
        "flagged": "take_down",
        "held_edit": "take_down",
        "pinned": "take_down",
        "pending": "none",
        "removed": None,
    },
    "flag": {
        "visible": "update",
        "flagged": "update",
        "held_edit": "update",
        "pinned": "update",
        "pending": "update",
        "removed": None,
    },
    "unflag": {
        "visible": "none",
        "flagged": "update",
        "held_edit": "none",
        "pinned": "none",
        "pending": "none",
        "removed": "none",
    },
}


def test_the_expectations_cover_the_whole_table() -> None:
    """Every action of the table, and only those, has a row of expected outcomes here."""
    assert set(EXPECTED) == set(actions.ACTIONS)


@pytest.mark.parametrize(
    ("name", "shape"), [(n, s) for n in actions.ACTIONS for s in SHAPES], ids=str
)
def test_each_action_on_each_comment(name: str, shape: str) -> None:
    """Each action's rule gives the expected effect on each kind of comment, or refuses it."""
    wanted = EXPECTED[name][shape]
    if wanted is None:
        with pytest.raises(Conflict):
            actions.decide(name, SHAPES[shape], DECISION)
        return
    updated, effect = actions.decide(name, SHAPES[shape], DECISION)
    assert effect == wanted
    if effect != "none":
        assert updated != SHAPES[shape]
    elif (name, shape) != ("remove", "removed"):  # a second removal keeps its new reason
        assert updated == SHAPES[shape]


@pytest.mark.parametrize("name", list(actions.ACTIONS))
def test_no_action_touches_a_comment_its_author_deleted(name: str) -> None:
    """A deleted comment is beyond every action: 409, whichever is asked."""
    with pytest.raises(Conflict, match="deleted"):
        actions.decide(name, _comment("deleted"), DECISION)


@pytest.mark.parametrize("name", list(actions.ACTIONS))
def test_the_request_schema_accepts_exactly_the_moderators_actions(name: str) -> None:
    """A moderator may ask for the table's moderator actions; auto-moderation's own are 422."""
    body = msgspec.json.encode({"action": name})
    if actions.ACTIONS[name].moderators:
        assert decode(body, ModerationRequest).action == name
    else:
        with pytest.raises(RequestError) as refused:
            decode(body, ModerationRequest)
        assert refused.value.status == 422
        assert list(refused.value.fields) == ["action"]


def test_queue_items_offer_the_tables_actions() -> None:
    """A held comment offers approve and reject, a held edit the same, a flagged comment approve
    and remove; a comment outside the queue is no item at all."""
    offered = {shape: item(record) for shape, record in SHAPES.items()}
    assert {s: (i.actions if i else None) for s, i in offered.items()} == {
        "visible": None,
        "flagged": ("approve", "remove"),
        "held_edit": ("approve", "reject"),
        "pinned": None,
        "pending": ("approve", "reject"),
        "removed": None,
    }


def test_every_offered_action_has_a_label_in_each_language() -> None:
    """The widget labels each action the queue offers, in English and German."""
    text = STRINGS.read_text()
    queued = {a.name for a in actions.ACTIONS.values() if a.queue}
    for name in queued:
        assert len(re.findall(rf"^\s+{name}: \"", text, re.M)) == 2, name
