"""Admin keys: minting, checking, and the refusals that say what to do."""

from __future__ import annotations

import base64
import json
import re

import pytest
from nacl.secret import SecretBox

from bayou.auth.admin_key import (
    AdminIdentity,
    admin_key_check_response,
    check_admin_key,
    mint_admin_key,
    require_admin,
)
from bayou.auth.admin_key_message import AdminKeyMessage
from bayou.auth.operations import DEPLOYMENT_OPERATIONS, READ_ONLY_OPERATIONS
from bayou.errors import BadRequest, Forbidden, Unauthenticated

NAME = "convex-self-hosted"
SECRET = bytes(range(32))
OLD_SECRET = bytes(range(100, 132))


def _refusal(key: str, *, name: str = NAME, secrets: list[bytes] | None = None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        check_admin_key(key, name, secrets or [SECRET])
    assert caught.value.code == "BadAdminKey"
    assert caught.value.status == 401
    return caught.value.message


def _acting_suffix(identity: dict[str, object]) -> str:
    return base64.b64encode(json.dumps(identity).encode()).decode()


def _legacy_key(message: AdminKeyMessage, secret: bytes = SECRET) -> str:
    """A legacy-format key made with libsodium, following the spec, not Bayou's code."""
    nonce = bytes(range(7, 31))
    return (bytes([1]) + SecretBox(secret).encrypt(message.encode(), nonce)).hex()


# --- minting and round trips ---------------------------------------------------------


def test_a_minted_key_has_convex_current_format() -> None:
    key = mint_admin_key(NAME, SECRET, issued_s=1700000000)
    # name | 0x01 ‖ 12-byte nonce ‖ 8-byte protobuf ‖ 16-byte tag = 37 bytes
    assert re.fullmatch(rf"{NAME}\|01[0-9a-f]{{72}}", key)


def test_a_minted_key_checks_as_a_full_admin() -> None:
    identity = check_admin_key(mint_admin_key(NAME, SECRET, issued_s=1700000000), NAME, [SECRET])
    assert identity == AdminIdentity(
        instance_name=NAME,
        issued_s=1700000000,
        member_id=0,
        is_system=False,
        read_only=False,
    )
    assert all(identity.can(op) for op in DEPLOYMENT_OPERATIONS)


def test_every_mint_is_a_different_key_and_all_stay_valid() -> None:
    keys = {mint_admin_key(NAME, SECRET) for _ in range(5)}
    assert len(keys) == 5
    assert all(check_admin_key(key, NAME, [SECRET]).member_id == 0 for key in keys)


def test_a_read_only_key_allows_only_viewing_and_queries() -> None:
    identity = check_admin_key(mint_admin_key(NAME, SECRET, read_only=True), NAME, [SECRET])
    assert identity.read_only
    assert identity.allowed_ops == READ_ONLY_OPERATIONS
    assert identity.can("ViewData") and identity.can("RunInternalQueries")
    assert not identity.can("Deploy")
    assert not identity.can("WriteData")
    assert not identity.can("RunInternalMutations")


def test_can_refuses_unknown_operation_names() -> None:
    identity = check_admin_key(mint_admin_key(NAME, SECRET), NAME, [SECRET])
    with pytest.raises(ValueError, match="unknown deployment operation"):
        identity.can("Deploi")


def test_a_system_key_checks_as_system_without_a_member() -> None:
    identity = check_admin_key(mint_admin_key(NAME, SECRET, system=True), NAME, [SECRET])
    assert identity.is_system and identity.member_id is None and not identity.read_only


def test_a_member_key_carries_its_member_id() -> None:
    key = mint_admin_key(NAME, SECRET, member_id=2**40)
    assert check_admin_key(key, NAME, [SECRET]).member_id == 2**40


@pytest.mark.parametrize(
    "kwargs",
    [{"system": True, "read_only": True}, {"system": True, "member_id": 3}, {"issued_s": 0}],
)
def test_impossible_keys_are_not_minted(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        mint_admin_key(NAME, SECRET, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "a|b", "prod:a"])
def test_names_that_cannot_round_trip_are_not_minted(name: str) -> None:
    with pytest.raises(ValueError):
        mint_admin_key(name, SECRET)


def test_secrets_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        mint_admin_key(NAME, bytes(16))
    with pytest.raises(ValueError):
        check_admin_key(mint_admin_key(NAME, SECRET), NAME, [bytes(31)])
    with pytest.raises(ValueError):
        check_admin_key(mint_admin_key(NAME, SECRET), NAME, [])


# --- keys minted elsewhere -----------------------------------------------------------

# Minted outside Bayou for the secret 00 01 … 1f, nonce b0a1c2d3e4f5061728394a5b and
# issued_s 1700000000: plaintexts from `protoc --encode` with Convex's convex_keys.proto,
# sealed with @noble/ciphers' AES-GCM-SIV under a subkey from Node's crypto HMAC.
INDEPENDENT_KEYS = [
    (
        "vector-test|01b0a1c2d3e4f5061728394a5b96f39f388118fb6309dcde3082e4640ed73bbcb06134c27b",
        AdminKeyMessage(issued_s=1700000000, member_id=0),
    ),
    (
        "vector-test|01b0a1c2d3e4f5061728394a5bbbbfe410c712e8ebf542ceea3323a03dc480b6d0c505b8a07ab9",
        AdminKeyMessage(issued_s=1700000000, member_id=42, is_read_only=True),
    ),
    (
        "vector-test|01b0a1c2d3e4f5061728394a5b12d9b075365118f28836c9b150a55e4222e0146639896ad4",
        AdminKeyMessage(issued_s=1700000000, system=True),
    ),
]


@pytest.mark.parametrize(("key", "message"), INDEPENDENT_KEYS)
def test_keys_from_an_independent_implementation_are_accepted(
    key: str, message: AdminKeyMessage
) -> None:
    identity = check_admin_key(key, "vector-test", [SECRET])
    assert identity.issued_s == message.issued_s
    assert identity.member_id == message.member_id
    assert identity.is_system == message.system
    assert identity.read_only == message.is_read_only


@pytest.mark.parametrize(("key", "message"), INDEPENDENT_KEYS)
def test_bayou_seals_byte_for_byte_like_the_independent_implementation(
    key: str, message: AdminKeyMessage
) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

    from bayou.auth.keys import ADMIN_KEY, derive_key

    nonce = bytes.fromhex("b0a1c2d3e4f5061728394a5b")
    sealed = AESGCMSIV(derive_key(SECRET, ADMIN_KEY)).encrypt(nonce, message.encode(), b"\x01")
    assert key == "vector-test|" + (b"\x01" + nonce + sealed).hex()


def test_a_legacy_key_with_the_name_inside_is_accepted() -> None:
    key = _legacy_key(AdminKeyMessage(issued_s=1638826753, member_id=0, instance_name=NAME))
    identity = check_admin_key(key, NAME, [SECRET])
    assert identity.legacy and identity.member_id == 0 and identity.issued_s == 1638826753


def test_a_legacy_system_key_with_a_name_prefix_is_accepted() -> None:
    key = f"{NAME}|" + _legacy_key(AdminKeyMessage(issued_s=1693517327, system=True))
    identity = check_admin_key(key, NAME, [SECRET])
    assert identity.legacy and identity.is_system


def test_the_clear_name_prefix_wins_over_the_name_inside_a_legacy_key() -> None:
    inner = _legacy_key(AdminKeyMessage(issued_s=1, member_id=0, instance_name="old-name"))
    assert check_admin_key(f"{NAME}|{inner}", NAME, [SECRET]).instance_name == NAME


def test_a_legacy_key_under_another_secret_is_refused() -> None:
    key = _legacy_key(AdminKeyMessage(issued_s=1, member_id=0, instance_name=NAME), bytes(32))
    assert "instance secret" in _refusal(key)


# --- prefixes and acting as a user ---------------------------------------------------


@pytest.mark.parametrize("prefix", ["prod:", "dev:", "custom:"])
def test_cosmetic_type_prefixes_are_ignored(prefix: str) -> None:
    key = prefix + mint_admin_key(NAME, SECRET)
    assert check_admin_key(key, NAME, [SECRET]).member_id == 0


@pytest.mark.parametrize("prefix", ["preview:team:project", "project:team:project", "PREVIEW:x"])
def test_a_whole_preview_or_project_prefix_is_dropped(prefix: str) -> None:
    inner = _legacy_key(AdminKeyMessage(issued_s=1, member_id=0, instance_name=NAME))
    assert check_admin_key(f"{prefix}|{inner}", NAME, [SECRET]).legacy


def test_a_current_key_behind_a_dropped_prefix_names_no_instance() -> None:
    hex_part = mint_admin_key(NAME, SECRET).split("|")[1]
    assert "does not say which instance" in _refusal(f"preview:team:proj|{hex_part}")


def test_surrounding_whitespace_is_ignored() -> None:
    assert check_admin_key(f"  {mint_admin_key(NAME, SECRET)}\n", NAME, [SECRET])


def test_acting_as_a_user_returns_the_identity_with_a_token_identifier() -> None:
    suffix = _acting_suffix({"issuer": "https://convex.test", "subject": "u1", "name": "Ann"})
    identity = check_admin_key(f"prod:{mint_admin_key(NAME, SECRET)}:{suffix}", NAME, [SECRET])
    assert identity.acting_as == {
        "issuer": "https://convex.test",
        "subject": "u1",
        "name": "Ann",
        "tokenIdentifier": "https://convex.test|u1",
    }
    assert identity.member_id == 0


def test_acting_as_keeps_custom_claims_and_unpadded_base64() -> None:
    suffix = _acting_suffix({"tokenIdentifier": "t", "org": {"id": 3}}).rstrip("=")
    identity = check_admin_key(f"{mint_admin_key(NAME, SECRET)}:{suffix}", NAME, [SECRET])
    assert identity.acting_as == {"tokenIdentifier": "t", "org": {"id": 3}}


@pytest.mark.parametrize(
    "suffix",
    [
        "not base64!",
        base64.b64encode(b"not json").decode(),
        _acting_suffix(["a list"]),  # type: ignore[arg-type]
        _acting_suffix({"name": "no token identifier"}),
        _acting_suffix({"tokenIdentifier": "t", "email": 5}),
        _acting_suffix({"tokenIdentifier": "t", "emailVerified": "yes"}),
    ],
)
def test_a_malformed_acting_as_identity_is_a_bad_request(suffix: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_admin_key(f"{mint_admin_key(NAME, SECRET)}:{suffix}", NAME, [SECRET])
    assert caught.value.code == "HeaderParseFailure" and caught.value.status == 400


def test_a_system_key_cannot_act_as_a_user() -> None:
    suffix = _acting_suffix({"tokenIdentifier": "t"})
    with pytest.raises(Forbidden):
        check_admin_key(f"{mint_admin_key(NAME, SECRET, system=True)}:{suffix}", NAME, [SECRET])


# --- refusals that name their cause --------------------------------------------------


def test_a_key_for_another_instance_names_both_instances() -> None:
    message = _refusal(mint_admin_key("other-app", SECRET))
    assert "'other-app'" in message and f"'{NAME}'" in message
    assert "bayou admin-key" in message


def test_a_key_for_another_instance_under_another_secret_names_both_instances() -> None:
    message = _refusal(mint_admin_key("other-app", bytes(32)))
    assert "'other-app'" in message and f"'{NAME}'" in message


def test_a_key_under_a_changed_secret_says_the_secret_changed_and_how_to_mint() -> None:
    key = mint_admin_key(NAME, OLD_SECRET)
    with pytest.raises(Unauthenticated) as caught:
        check_admin_key(key, NAME, [SECRET], data_dir="/srv/bayou")
    assert "secret has changed" in caught.value.message
    assert "`bayou admin-key --data-dir /srv/bayou`" in caught.value.message


@pytest.mark.parametrize(
    ("key", "deployment"),
    [
        ("prod:happy-otter-123|eyJ2MiI6ImFiYyJ9", "'happy-otter-123'"),
        (f"dev:brave-fox-42|{'ab' * 40}", "'brave-fox-42'"),
        ("project:team:app|eyJ2MiI6ImFiYyJ9", "project key"),
        ("preview:team:app|eyJ2MiI6ImFiYyJ9", "preview key"),
    ],
)
def test_a_convex_cloud_key_is_recognised(key: str, deployment: str) -> None:
    message = _refusal(key)
    assert "Convex cloud" in message and deployment in message and f"'{NAME}'" in message


@pytest.mark.parametrize(
    ("key", "detail"),
    [
        ("just-some-text", "not of the form `<instance name>|<hex>`"),
        (f"{NAME}|xyz", "not hexadecimal"),
        (f"{NAME}|", "nothing after the instance name"),
        (f"{NAME}|01abc", "odd number of digits"),
        (f"{NAME}|01abcd", "too short"),
        (f"{NAME}|02" + "00" * 40, "version byte is 2"),
    ],
)
def test_a_malformed_key_says_what_is_wrong(key: str, detail: str) -> None:
    message = _refusal(key)
    assert "malformed" in message and detail in message


def test_an_empty_key_is_refused() -> None:
    assert "no admin key was given" in _refusal("   ")


def test_a_truncated_key_is_refused_as_malformed() -> None:
    key = mint_admin_key(NAME, SECRET)
    assert "too short" in _refusal(key[:41])
    assert "instance secret" in _refusal(key[:-2])


# --- rotation ------------------------------------------------------------------------


def test_during_rotation_keys_of_both_secrets_are_accepted() -> None:
    old_key, new_key = mint_admin_key(NAME, OLD_SECRET), mint_admin_key(NAME, SECRET)
    assert check_admin_key(new_key, NAME, [SECRET, OLD_SECRET]).secret_index == 0
    assert check_admin_key(old_key, NAME, [SECRET, OLD_SECRET]).secret_index == 1
    legacy = _legacy_key(AdminKeyMessage(issued_s=1, member_id=0, instance_name=NAME), OLD_SECRET)
    assert check_admin_key(legacy, NAME, [SECRET, OLD_SECRET]).secret_index == 1


def test_after_rotation_keys_of_the_old_secret_are_refused() -> None:
    assert "secret has changed" in _refusal(mint_admin_key(NAME, OLD_SECRET))


# --- GET /api/check_admin_key --------------------------------------------------------


def test_check_admin_key_response_for_a_full_admin() -> None:
    identity = check_admin_key(mint_admin_key(NAME, SECRET), NAME, [SECRET])
    assert admin_key_check_response(identity) == {
        "success": True,
        "allowedOps": [],
        "isReadOnly": False,
    }


def test_check_admin_key_response_for_a_read_only_admin() -> None:
    identity = check_admin_key(mint_admin_key(NAME, SECRET, read_only=True), NAME, [SECRET])
    response = admin_key_check_response(identity)
    assert response["isReadOnly"] is True
    assert response["allowedOps"] == list(READ_ONLY_OPERATIONS)


def test_check_admin_key_response_for_an_acting_admin() -> None:
    suffix = _acting_suffix({"tokenIdentifier": "t"})
    identity = check_admin_key(f"{mint_admin_key(NAME, SECRET)}:{suffix}", NAME, [SECRET])
    assert admin_key_check_response(identity)["success"] is True


@pytest.mark.parametrize("system", [True, False])
def test_a_system_key_or_no_key_is_a_bad_deploy_key(system: bool) -> None:
    identity = (
        check_admin_key(mint_admin_key(NAME, SECRET, system=True), NAME, [SECRET])
        if system
        else None
    )
    with pytest.raises(Forbidden) as caught:
        admin_key_check_response(identity)
    assert caught.value.code == "BadDeployKey" and caught.value.status == 403
    with pytest.raises(Forbidden):
        require_admin(identity)
