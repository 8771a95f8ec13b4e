"""Messages: numbering per channel, index ranges, filters, pagination, logs."""

from typing import Any

import pytest

from bayou import ConvexError, api
from bayou.testing import ConvexTest


def chat(convex: ConvexTest) -> tuple[str, str]:
    ada = convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
    general = convex.mutation(api.channels.create, {"name": "general"})
    return general, ada


def test_messages_are_numbered_per_channel(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    for body in ["one", "two", "three"]:
        convex.mutation(api.messages.send, {"channel": general, "author": ada, "body": body})
    listed = convex.query(api.messages.list, {"channel": general, "limit": 2})
    assert [m["seq"] for m in listed] == [3, 2]
    assert convex.query(api.messages.range, {"channel": general, "from": 1, "to": 3}) == [
        "one",
        "two",
    ]


def test_an_empty_message_is_refused_and_nothing_is_written(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    with pytest.raises(ConvexError) as error:
        convex.mutation(api.messages.send, {"channel": general, "author": ada, "body": "   "})
    assert error.value.data == {"code": "EMPTY_MESSAGE"}
    assert convex.table("messages") == []


def test_sending_logs_a_line(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    convex.mutation(api.messages.send, {"channel": general, "author": ada, "body": "hello"})
    assert convex.log_messages() == ["message 1 in general by Ada"]


def test_likes_filter_popular_messages(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    sent = [
        convex.mutation(api.messages.send, {"channel": general, "author": ada, "body": b})
        for b in ["a", "b"]
    ]
    convex.mutation(api.messages.like, {"id": sent[1]["id"]})
    popular = convex.query(api.messages.popular, {"channel": general, "minLikes": 1})
    assert popular == [{"seq": 2, "likes": 1}]


def test_pages_walk_the_whole_channel(convex: ConvexTest) -> None:
    general, ada = chat(convex)
    for i in range(5):
        convex.mutation(api.messages.send, {"channel": general, "author": ada, "body": f"m{i}"})
    bodies: list[Any] = []
    cursor = None
    while True:
        page = convex.query(
            api.messages.page,
            {"channel": general, "paginationOpts": {"numItems": 2, "cursor": cursor}},
        )
        bodies += page["bodies"]
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert bodies == [f"m{i}" for i in range(5)]
