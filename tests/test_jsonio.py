"""The JSON helpers: a copy shares nothing with its original and refuses what JSON
cannot hold."""

from __future__ import annotations

import pytest

from workhub.jsonio import copied


def test_a_copy_is_equal_and_shares_nothing() -> None:
    state = {"index": {"etags": ['W/"a"', 'W/"b"'], "open": False},
             "repos": {"7": {"name": "acme/api", "swept": 1.5, "list": None}}}
    copy = copied(state)
    assert copy == state
    copy["repos"]["7"]["name"] = "acme/web"
    copy["index"]["etags"].append('W/"c"')
    assert state["repos"]["7"]["name"] == "acme/api"
    assert state["index"]["etags"] == ['W/"a"', 'W/"b"']


@pytest.mark.parametrize("value", [{1: "an int key"}, {"when": object()}])
def test_what_json_cannot_hold_is_refused_not_changed(value: object) -> None:
    with pytest.raises(TypeError):
        copied(value)
