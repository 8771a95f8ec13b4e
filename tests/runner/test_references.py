"""Function references across components: names, `components.x…` references, handles."""

from __future__ import annotations

import pytest

from bayou.errors import BadRequest
from bayou.model.deployment import ComponentInstance, Deployment
from bayou.protocol.function_path import FunctionPath
from bayou.runner.references import function_handle, parse_handle, resolve

DEPLOYMENT = Deployment.build(
    [],
    {},
    components={
        "counter": ComponentInstance("counter", "counter", "../node_modules/c"),
        "counter/inner": ComponentInstance("counter/inner", "inner", "../node_modules/i"),
    },
)


def test_a_name_is_a_function_of_the_callers_component() -> None:
    target = resolve(DEPLOYMENT, "counter", {"name": "lib:add"})
    assert (target.component, target.path, target.across) == (
        "counter",
        FunctionPath("lib", "add"),
        False,
    )


def test_a_child_reference_crosses_into_the_child() -> None:
    ref = {"reference": "_reference/childComponent/counter/dir/lib/add"}
    target = resolve(DEPLOYMENT, "", ref)
    assert (target.component, str(target.path), target.across) == ("counter", "dir/lib:add", True)
    nested = resolve(DEPLOYMENT, "counter", {"reference": "_reference/childComponent/inner/m/f"})
    assert nested.component == "counter/inner"


def test_a_reference_to_a_missing_child_or_without_a_function_is_refused() -> None:
    with pytest.raises(BadRequest, match="no child component 'nope'"):
        resolve(DEPLOYMENT, "", {"reference": "_reference/childComponent/nope/lib/add"})
    with pytest.raises(BadRequest, match="name a function"):
        resolve(DEPLOYMENT, "", {"reference": "_reference/childComponent/counter"})
    with pytest.raises(BadRequest, match="Invalid reference"):
        resolve(DEPLOYMENT, "", {"reference": "elsewhere/x"})


def test_a_handle_names_its_component_and_function_from_anywhere() -> None:
    handle = function_handle(resolve(DEPLOYMENT, "counter", {"name": "lib:add"}))
    assert handle.startswith("function://") and handle.endswith("#lib:add")
    for caller in ("", "counter", "counter/inner"):
        target = resolve(DEPLOYMENT, caller, {"functionHandle": handle})
        assert (target.component, str(target.path)) == ("counter", "lib:add")
    assert parse_handle(handle).component == "counter"
    with pytest.raises(BadRequest, match="Invalid function handle"):
        parse_handle("function://not-base64!#x")
