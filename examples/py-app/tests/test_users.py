"""Users: creation, the unique e-mail rule, lookups by index, an internal mutation."""

import pytest

from bayou import ConvexError, api, internal
from bayou.testing import ConvexTest, FunctionError


def test_a_created_user_can_be_read_back(convex: ConvexTest) -> None:
    ada = convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
    user = convex.query(api.users.get, {"id": ada})
    assert user["name"] == "Ada" and user["email"] == "ada@example.com"
    assert convex.query(api.users.byEmail, {"email": "ada@example.com"})["_id"] == ada


def test_an_email_is_taken_once(convex: ConvexTest) -> None:
    convex.mutation(api.users.create, {"name": "Ada", "email": "ada@example.com"})
    with pytest.raises(ConvexError) as error:
        convex.mutation(api.users.create, {"name": "Eve", "email": "ada@example.com"})
    assert error.value.data == {"code": "EMAIL_TAKEN", "email": "ada@example.com"}
    assert len(convex.table("users")) == 1


def test_a_blank_name_is_refused_with_a_message(convex: ConvexTest) -> None:
    with pytest.raises(ConvexError) as error:
        convex.mutation(api.users.create, {"name": "  ", "email": "x@example.com"})
    assert error.value.data == "A user needs a name"


def test_arguments_are_validated(convex: ConvexTest) -> None:
    with pytest.raises(FunctionError) as error:
        convex.mutation(api.users.create, {"name": "Ada"})
    assert error.value.message.startswith("ArgumentValidationError: Object is missing")


def test_users_are_listed_by_name(convex: ConvexTest) -> None:
    convex.seed(
        {
            "users": [
                {"name": "Grace", "email": "grace@example.com"},
                {"name": "Ada", "email": "ada@example.com"},
            ]
        }
    )
    names = [user["name"] for user in convex.query(api.users.list)]
    assert names == ["Ada", "Grace"]


def test_internal_functions_are_callable_from_tests_not_from_clients(convex: ConvexTest) -> None:
    (ada,) = convex.seed({"users": [{"name": "Ada", "email": "ada@example.com"}]})["users"]
    convex.mutation(internal.users.rename, {"id": ada, "name": "Ada L."})
    renamed = convex.get(ada)
    assert renamed is not None and renamed["name"] == "Ada L."
    with pytest.raises(FunctionError, match="Could not find public function"):
        convex.as_client().mutation(internal.users.rename, {"id": ada, "name": "Mallory"})
