"""The official CLI (`npx convex run/env/logs/function-spec/data`) and its Bayou
counterparts (`bayou run/env/logs/function-spec`) on the chat app in both languages."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.compat.apps.conftest import BAYOU, ChatDeployment, clean_env
from tests.compat.line_reader import LineReader

pytestmark = pytest.mark.compat


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- npx convex run -------------------------------------------------------------------


def test_npx_run_calls_public_and_internal_functions(chat: ChatDeployment) -> None:
    created = chat.npx("run", "users:create", '{"name": "Cli", "email": "cli@run.test"}')
    user = json.loads(created.stdout)
    chat.npx("run", "users:rename", json.dumps({"id": user, "name": "Clio"}))  # internal
    got = json.loads(chat.npx("run", "users:get", json.dumps({"id": user})).stdout)
    assert (got["_id"], got["name"], got["email"]) == (user, "Clio", "cli@run.test")
    channel = json.loads(chat.npx("run", "channels:create", '{"name": "cli"}').stdout)
    stats = chat.npx("run", "channels:stats", json.dumps({"channel": channel}))  # internal
    assert json.loads(stats.stdout) == {"likes": 0, "messages": 0}
    sent = chat.npx(
        "run", "api.messages.send", json.dumps({"channel": channel, "author": user, "body": "hi"})
    )
    assert json.loads(sent.stdout)["seq"] == 1


def test_npx_run_reports_function_errors(chat: ChatDeployment) -> None:
    chat.npx("run", "users:create", '{"name": "Dup", "email": "dup@run.test"}')
    taken = chat.npx("run", "users:create", '{"name": "Dup", "email": "dup@run.test"}', check=False)
    assert taken.returncode == 1
    assert "EMAIL_TAKEN" in taken.stderr
    failed = chat.npx("run", "diagnostics:fail", '{"convex": false}', check=False)
    assert failed.returncode == 1 and "deliberate failure" in failed.stderr
    invalid = chat.npx("run", "messages:list", '{"channel": "nope"}', check=False)
    assert invalid.returncode == 1 and "ArgumentValidationError" in invalid.stderr


def test_npx_run_of_an_unknown_function_lists_the_deployed_ones(chat: ChatDeployment) -> None:
    missing = chat.npx("run", "messages:nope", check=False)
    assert missing.returncode == 1
    assert "Could not find function for 'messages:nope'" in missing.stderr
    assert "Available functions:" in missing.stderr
    # Python modules are listed as `messages.py:send` (the identifiers of apiSpec)
    assert re.search(r"messages(\.py)?:send", missing.stderr)
    assert re.search(r"users(\.py)?:rename", missing.stderr)


def test_npx_run_acts_as_the_given_identity(chat: ChatDeployment) -> None:
    who = chat.npx("run", "diagnostics:whoami", "--identity", '{"subject": "user-7"}')
    assert json.loads(who.stdout) == "user-7"
    assert chat.npx("run", "diagnostics:whoami").stdout.strip() == ""  # null prints nothing


# -- environment variables --------------------------------------------------------------


def test_npx_env_set_and_remove_reach_the_functions(chat: ChatDeployment) -> None:
    setting = json.dumps({"name": "CHAT_GREETING"})
    chat.npx("env", "set", "CHAT_GREETING", "bonjour")
    assert json.loads(chat.npx("run", "diagnostics:setting", setting).stdout) == "bonjour"
    assert "CHAT_GREETING" in chat.npx("env", "list").stdout
    chat.npx("env", "remove", "CHAT_GREETING")
    assert chat.npx("run", "diagnostics:setting", setting).stdout.strip() == ""


def test_bayou_env_commands_manage_the_variables(chat: ChatDeployment) -> None:
    chat.bayou("env", "set", "CHAT_COLOR", "teal")
    chat.bayou("env", "set", "CHAT_SIZE=large")
    assert chat.bayou("env", "get", "CHAT_COLOR").stdout == "teal\n"
    listed = chat.bayou("env", "list").stdout.splitlines()
    assert "CHAT_COLOR=teal" in listed and "CHAT_SIZE=large" in listed
    assert chat.run("diagnostics:setting", {"name": "CHAT_SIZE"}) == "large"
    # what the official CLI reads is what Bayou's wrote
    assert chat.npx("env", "get", "CHAT_COLOR").stdout == "teal\n"
    chat.bayou("env", "remove", "CHAT_COLOR")
    missing = chat.bayou("env", "get", "CHAT_COLOR", check=False)
    assert missing.returncode == 1
    assert 'Environment variable "CHAT_COLOR" not found' in missing.stderr
    chat.bayou("env", "remove", "CHAT_SIZE")


# -- logs -------------------------------------------------------------------------------


def _produce_logs(chat: ChatDeployment, name: str) -> None:
    user = chat.run("users:create", {"name": name, "email": f"{name}@logs.test"})
    channel = chat.run("channels:create", {"name": f"logs-{name}"})
    chat.run("messages:send", {"channel": channel, "author": user, "body": "logged"})
    chat.bayou("run", "diagnostics:fail", '{"convex": false}', check=False)


def expect_log_lines(output: LineReader, name: str) -> None:
    """The lines of `_produce_logs(chat, name)`, in the order the calls ran."""
    line = output.wait_for(
        lambda line: "[CONVEX M(messages:send)] [LOG]" in line and f"logs-{name}" in line
    )
    assert name in line.split(f"logs-{name}", 1)[1]  # the author, after the channel
    output.wait_for(lambda line: "[CONVEX M(messages:send)] Function executed in" in line)
    output.wait_for(
        lambda line: "[CONVEX Q(diagnostics:fail)] [WARN]" in line and "about to fail" in line
    )
    output.wait_for(
        lambda line: "[CONVEX Q(diagnostics:fail)]" in line and "deliberate failure" in line
    )


def test_npx_logs_shows_executions_with_their_log_lines(chat: ChatDeployment) -> None:
    process = subprocess.Popen(
        [chat.app.node, str(chat.app.cli_path), "logs", "--history", "1000", "--success"],
        cwd=chat.dir,
        env=chat.server.cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = LineReader(process.stdout)  # type: ignore[arg-type]
        output.wait_for(lambda line: "Watching logs" in line)
        _produce_logs(chat, "npxlogs")
        expect_log_lines(output, "npxlogs")
    finally:
        stop(process)


def test_bayou_logs_shows_executions_with_their_log_lines(chat: ChatDeployment) -> None:
    process = chat.bayou_process("logs", "--history", "1000", "--success")
    try:
        output = LineReader(process.stdout)  # type: ignore[arg-type]
        output.wait_for(lambda line: "Watching logs" in line)
        _produce_logs(chat, "bayoulogs")
        expect_log_lines(output, "bayoulogs")
    finally:
        stop(process)


# -- function-spec and data -------------------------------------------------------------


def test_function_spec_of_bayou_equals_the_official_one(chat: ChatDeployment) -> None:
    official = json.loads(chat.npx("function-spec").stdout)
    ours = json.loads(chat.bayou("function-spec").stdout)
    assert ours == official
    assert official["url"] == chat.url
    by_name = {
        f["identifier"].split(".")[0] + ":" + f["identifier"].split(":")[1]: f
        for f in official["functions"]
        if "identifier" in f
    }
    assert len(by_name) == 41
    routes = {(f["method"], f["path"]) for f in official["functions"] if "identifier" not in f}
    assert ("POST", "/webhook") in routes and ("GET", "/echo/*") in routes
    assert by_name["users:rename"]["visibility"] == {"kind": "internal"}
    assert by_name["actions:welcome"]["functionType"] == "Action"
    assert by_name["messages:send"]["args"]["value"]["author"]["fieldType"] == {
        "type": "id",
        "tableName": "users",
    }


def test_function_specs_are_the_same_in_both_languages(
    ts_chat: ChatDeployment, py_chat: ChatDeployment
) -> None:
    def functions(deployment: ChatDeployment) -> dict[str, dict]:
        spec = json.loads(deployment.npx("function-spec").stdout)
        out = {}
        for f in spec["functions"]:
            if "identifier" not in f:  # an HTTP route: {functionType, method, path}
                out[f"{f['method']} {f['path']}"] = f
                continue
            module, _, name = f.pop("identifier").partition(":")
            out[module.rsplit(".", 1)[0] + ":" + name] = f  # messages.js / messages.py
        return out

    assert functions(py_chat) == functions(ts_chat)


def test_npx_data_lists_tables_and_documents(chat: ChatDeployment) -> None:
    chat.run("users:create", {"name": "Dana", "email": "dana@data.test"})
    tables = chat.npx("data").stdout
    assert {"channels", "messages", "users"} <= set(tables.split())
    users = chat.npx("data", "users", "--limit", "1000").stdout
    assert "dana@data.test" in users


# -- the bayou CLI's own errors -------------------------------------------------------


def test_bayou_run_prints_results_and_errors(chat: ChatDeployment) -> None:
    user = chat.run("users:create", {"name": "Run", "email": "run@bayou.test"})
    assert chat.run("users:byEmail", {"email": "run@bayou.test"})["_id"] == user
    taken = chat.bayou(
        "run", "users:create", '{"name": "Run", "email": "run@bayou.test"}', check=False
    )
    assert taken.returncode == 1 and '"code": "EMAIL_TAKEN"' in taken.stderr
    missing = chat.bayou("run", "messages:nope", check=False)
    assert missing.returncode == 1 and "Could not find function" in missing.stderr
    bad_json = chat.bayou("run", "users:list", "{nope", check=False)
    assert bad_json.returncode == 1 and "Failed to parse arguments as JSON" in bad_json.stderr
    echoed = chat.run("diagnostics:echo", {"value": {"$integer": "KgAAAAAAAAA="}})
    assert echoed == {"$integer": "KgAAAAAAAAA="}


def _bayou_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BAYOU, *args],
        cwd=directory,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bayou_cli_reads_the_deployment_from_env_local(
    chat: ChatDeployment, tmp_path: Path
) -> None:
    missing = _bayou_in(tmp_path, "env", "list")
    assert missing.returncode == 1
    assert "CONVEX_SELF_HOSTED_URL" in missing.stderr
    assert "CONVEX_SELF_HOSTED_ADMIN_KEY" in missing.stderr
    (tmp_path / ".env.local").write_text(
        f"# written by a test\nCONVEX_SELF_HOSTED_URL={chat.url}\n"
        f"CONVEX_SELF_HOSTED_ADMIN_KEY='{chat.admin_key}'\n"
    )
    found = _bayou_in(tmp_path, "run", "users:byEmail", '{"email": "nobody@env.test"}')
    assert found.returncode == 0, found.stderr
    flag = _bayou_in(tmp_path, "run", "users:list", "--admin-key", "forged")
    assert flag.returncode == 1  # a flag overrides .env.local


def test_bayou_cli_names_a_refused_key(chat: ChatDeployment) -> None:
    forged = chat.bayou(
        "run",
        "users:list",
        env={"CONVEX_SELF_HOSTED_ADMIN_KEY": "convex-self-hosted|0123abcd"},
        check=False,
    )
    assert forged.returncode == 1
    assert "CONVEX_SELF_HOSTED_ADMIN_KEY" in forged.stderr
    assert "admin key" in forged.stderr.lower()
