"""`bayou.testing`: test a Python app's functions against a real backend in your process.

    # tests/test_users.py       (pytest finds the `convex` fixture: the plugin is installed)
    from bayou import ConvexError, api
    from bayou.testing import ConvexTest

    def test_email_is_unique(convex: ConvexTest) -> None:
        convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
        with pytest.raises(ConvexError) as e:
            convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
        assert e.value.data["code"] == "EMAIL_TAKEN"

Each test gets a backend of its own — the database, validators, function runner,
scheduler and Python workers of `bayou serve`, on memory persistence, with a fake clock —
and the app deployed to it as `bayou deploy` would. See docs/testing.md.
"""

from bayou.errors import ConvexError
from bayou.testing.app import AppError
from bayou.testing.fetch import FetchRequest, FetchResponse
from bayou.testing.harness import ConvexTest, FunctionError, HttpResponse, LogLine, SeedError
from bayou.testing.session import Harness

__all__ = [
    "AppError",
    "ConvexError",
    "ConvexTest",
    "FetchRequest",
    "FetchResponse",
    "FunctionError",
    "Harness",
    "HttpResponse",
    "LogLine",
    "SeedError",
]
