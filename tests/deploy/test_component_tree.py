"""The component tree of a push: definition order, instances, names, env bindings."""

from __future__ import annotations

import pytest

from bayou.deploy.components import (
    AnalyzedDefinition,
    _order,
    dependency_modules,
    file_based_exports,
    instantiate,
)
from bayou.errors import BadRequest
from bayou.model.deployment import Deployment


def request(path: str, *deps: str) -> dict:
    return {"definitionPath": path, "dependencies": list(deps)}


def definition(path: str, children: list[dict]) -> AnalyzedDefinition:
    code = Deployment.build([], {}, config={"childComponents": children})
    return AnalyzedDefinition(path, code, None, [c["path"] for c in children])


def test_definitions_are_analysed_children_first() -> None:
    ordered = _order([request("a", "b"), request("b", "c"), request("c")])
    assert [r["definitionPath"] for r in ordered] == ["c", "b", "a"]


def test_a_cycle_or_a_missing_definition_is_refused() -> None:
    with pytest.raises(BadRequest, match="cycle: a -> b -> a"):
        _order([request("a", "b"), request("b", "a")])
    with pytest.raises(BadRequest, match="was not pushed"):
        _order([request("a", "missing")])


def test_instances_nest_by_name_and_bind_env() -> None:
    definitions = {
        "pool": definition(
            "pool",
            [
                {
                    "name": "worker",
                    "path": "worker",
                    "env": [["LEVEL", {"type": "value", "value": "x"}]],
                }
            ],
        ),
        "worker": definition("worker", []),
    }
    app = {
        "childComponents": [
            {
                "name": "pool",
                "path": "pool",
                "env": [["KEY", {"type": "envVar", "name": "SECRET"}]],
            },
            {"name": "other", "path": "pool", "env": None},
        ]
    }
    tree = instantiate(app, definitions, {"SECRET": "s3"})
    assert sorted(tree) == ["other", "other/worker", "pool", "pool/worker"]
    assert tree["pool"].env == {"KEY": "s3"} and tree["other"].env == {}
    assert tree["pool/worker"].env == {"LEVEL": "x"}


def test_two_instances_with_one_name_are_refused() -> None:
    definitions = {"pool": definition("pool", [])}
    app = {"childComponents": [{"name": "p", "path": "pool"}, {"name": "p", "path": "pool"}]}
    with pytest.raises(BadRequest, match="'p' is used twice in the app"):
        instantiate(app, definitions, {})


def test_the_config_imports_its_children_by_base64url_path() -> None:
    (module,) = dependency_modules(["../node_modules/x/dist/component"], {})
    assert module.path == "_componentDeps/Li4vbm9kZV9tb2R1bGVzL3gvZGlzdC9jb21wb25lbnQ"
    assert '"componentDefinitionPath":"../node_modules/x/dist/component"' in module.source


def test_a_component_exports_its_public_functions_by_module_path() -> None:
    public = {"visibility": {"kind": "public"}, "udfType": "Mutation"}
    analysis = {
        "lib.js": {
            "functions": [
                {"name": "add", **public},
                {"name": "secret", "udfType": "Query", "visibility": {"kind": "internal"}},
            ]
        },
        "dir/m.js": {"functions": [{"name": "f", **public}]},
    }
    exports = file_based_exports(analysis)
    assert exports == {
        "type": "branch",
        "branch": [
            [
                "dir",
                {
                    "type": "branch",
                    "branch": [
                        [
                            "m",
                            {
                                "type": "branch",
                                "branch": [
                                    [
                                        "f",
                                        {"type": "leaf", "leaf": "_reference/function/dir/m.js:f"},
                                    ]
                                ],
                            },
                        ]
                    ],
                },
            ],
            [
                "lib",
                {
                    "type": "branch",
                    "branch": [["add", {"type": "leaf", "leaf": "_reference/function/lib.js:add"}]],
                },
            ],
        ],
    }
