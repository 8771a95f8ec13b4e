"""`bayou auth setup | check`: user authentication, set up and checked.

    bayou auth setup --site-url http://localhost:5173
        generate the RS256 key pair Convex Auth (@convex-dev/auth) signs its tokens with,
        and set JWT_PRIVATE_KEY, JWKS and SITE_URL on the deployment (existing keys are
        kept unless --rotate)
    bayou auth check [--token JWT]
        fetch each deployed provider's discovery document and keys and say what is wrong;
        with a token, take it apart and verify it as the server does

Both talk to the deployment as `bayou env` does (`CONVEX_SELF_HOSTED_URL`,
`CONVEX_SELF_HOSTED_ADMIN_KEY`, `--url`, `--admin-key`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bayou.cli.connection import AdminKeyOption, CliError, Connection, UrlOption

if TYPE_CHECKING:
    from bayou.auth.diagnosis import Finding

DEFAULT_SITE_URL = "http://localhost:5173"  # Vite's dev server, as @convex-dev/auth's CLI
KEY_VARIABLES = ("JWT_PRIVATE_KEY", "JWKS")

auth = typer.Typer(
    name="auth",
    help="Set up and check user authentication: Convex Auth keys, JWT providers, tokens.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@auth.command("setup")
def setup(
    site_url: Annotated[
        str | None,
        typer.Option(
            "--site-url",
            help="The URL of your web app (Convex Auth's SITE_URL, where sign-in redirects "
            f"go). Default: the current SITE_URL, else {DEFAULT_SITE_URL}.",
            show_default=False,
        ),
    ] = None,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Replace existing keys (every signed-in user must sign in again).",
        ),
    ] = False,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Generate the RS256 key pair and JWKS that Convex Auth signs tokens with, and set
    JWT_PRIVATE_KEY, JWKS and SITE_URL on the deployment."""
    from bayou.cli.deploy import fail

    try:
        connection = Connection.resolve(url, admin_key)
        current = deployment_variables(connection)
        changes, lines = plan_setup(current, site_url=site_url, rotate=rotate)
        if changes:
            connection.request(
                "POST",
                "/api/update_environment_variables",
                {"changes": [{"name": n, "value": v} for n, v in changes]},
            )
    except CliError as error:
        fail(error)
    for line in lines:
        typer.echo(line)


def plan_setup(
    current: dict[str, str], *, site_url: str | None, rotate: bool
) -> tuple[list[tuple[str, str]], list[str]]:
    """The variables to set and what to print, given the deployment's current variables."""
    from bayou.auth.signing_keys import generate_signing_keys, keys_match

    changes: list[tuple[str, str]] = []
    lines: list[str] = []
    present = [name for name in KEY_VARIABLES if current.get(name)]
    if present and not rotate:
        if len(present) < len(KEY_VARIABLES) or not keys_match(
            current["JWT_PRIVATE_KEY"], current["JWKS"]
        ):
            raise CliError(
                f"{' and '.join(present)} {'is' if len(present) == 1 else 'are'} set but "
                "JWT_PRIVATE_KEY and JWKS do not make a matching pair, so tokens would not "
                "verify. Run `bayou auth setup --rotate` to replace both."
            )
        lines.append(
            "✔ JWT_PRIVATE_KEY and JWKS are already set (kept; `--rotate` replaces them and "
            "signs every user out)"
        )
    else:
        private_key, jwks = generate_signing_keys()
        changes += [("JWT_PRIVATE_KEY", private_key), ("JWKS", jwks)]
        verb = "Replaced" if present else "Set"
        lines.append(f"✔ {verb} JWT_PRIVATE_KEY (a new 2048-bit RSA key, RS256)")
        lines.append(f"✔ {verb} JWKS (its public key)")
        if present:
            lines.append("  Tokens signed with the old key no longer verify: users sign in again.")
    wanted_site = site_url or current.get("SITE_URL") or DEFAULT_SITE_URL
    if current.get("SITE_URL") == wanted_site:
        lines.append(f"✔ SITE_URL is already {wanted_site}")
    else:
        changes.append(("SITE_URL", wanted_site))
        lines.append(f"✔ Set SITE_URL={wanted_site}")
    if changes:
        lines.append(
            "Tokens are verified with convex/auth.config.ts: "
            '{ providers: [{ domain: process.env.CONVEX_SITE_URL, applicationID: "convex" }] }'
        )
    return changes, lines


@auth.command("check")
def check(
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="A user token (JWT) to validate as the server would, saying what is wrong.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each discovery document or JWKS.")
    ] = 5.0,
    url: UrlOption = None,
    admin_key: AdminKeyOption = None,
) -> None:
    """Fetch each deployed auth provider's discovery document and JWKS, and say what is
    wrong (unreachable JWKS, issuer mismatch, clock skew …); with --token, validate that
    token (issuer, audience, expiry, signature) exactly as the server does."""
    from bayou.cli.deploy import fail

    try:
        connection = Connection.resolve(url, admin_key)
        findings = run_checks(connection, token=token, timeout=timeout)
    except CliError as error:
        fail(error)
    marks = {True: "ok  ", False: "FAIL", None: "note"}
    for f in findings:
        typer.echo(f"[{marks[f.ok]}] {f.subject}: {f.detail}")
    raise typer.Exit(1 if any(f.ok is False for f in findings) else 0)


def deployment_variables(connection: Connection) -> dict[str, str]:
    answer = connection.request("GET", "/api/list_environment_variables")
    variables = (answer or {}).get("environmentVariables")
    if not isinstance(variables, dict):
        raise CliError(f"Unexpected answer from list_environment_variables: {answer!r}")
    return {str(k): str(v) for k, v in variables.items()}


def server_date(connection: Connection) -> str | None:
    """The `Date` header of the server's answer to `/version` (its clock), if it answers."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{connection.url}/version", timeout=10) as response:
            return response.headers.get("date")
    except (urllib.error.URLError, OSError):
        return None


def deployed_providers(connection: Connection) -> list[dict[str, Any]]:
    """The auth providers of the deployed code (what `npx convex deploy` pushed)."""
    answer = connection.request("POST", "/api/get_config_hashes", {})
    providers = ((answer or {}).get("config") or {}).get("authInfo")
    if not isinstance(providers, list):
        raise CliError(f"Unexpected answer from get_config_hashes: {answer!r}")
    return [p for p in providers if isinstance(p, dict)]


def run_checks(
    connection: Connection, *, token: str | None = None, timeout: float = 5.0
) -> list[Finding]:
    """Every finding about the deployment's providers (and `token`, if given)."""
    import asyncio

    from bayou.auth.diagnosis import Diagnosis, Finding, clock_skew, describe_skew
    from bayou.auth.documents import DocumentCache
    from bayou.auth.user_tokens import UserTokenVerifier

    providers = deployed_providers(connection)
    diagnosis = Diagnosis(providers, timeout=timeout)
    findings: list[Finding] = []
    skew = clock_skew(server_date(connection), diagnosis.clock())
    if skew is not None and abs(skew) > 5:
        findings.append(Finding(False, "clock skew", describe_skew(skew, "the server's")))

    async def run() -> list[Finding]:
        found = await diagnosis.check_providers()
        if token is not None:
            verifier = UserTokenVerifier(
                lambda: providers, documents=DocumentCache(timeout=timeout)
            )
            try:
                found += await diagnosis.check_token(token.strip(), verifier)
            finally:
                await verifier.aclose()
        return found

    return findings + asyncio.run(run())
