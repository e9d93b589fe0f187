"""`livethread sign-in set|show|remove`: a site's single sign-on, set by an operator, every value
checked before anything is written, the secret never printed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.accounts.ports import SignIn
from server.settings import Settings
from server.web.app import store_for
from tests.support.command import livethread

SECRET = "a-shared-secret-of-at-least-32-bytes!"


def migrated(tmp_path: Path) -> str:
    """A migrated database holding the site "news"; its URL."""
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    for command in (("migrate",), ("site", "add", "news")):
        done = livethread(*command, "--database", url)
        assert done.returncode == 0, done.stderr
    return url


def stored(database: str) -> SignIn | None:
    async def read() -> SignIn | None:
        store = store_for(Settings(database=database))
        await store.open()
        try:
            return await store.sign_ins.get("news")
        finally:
            await store.close()

    return asyncio.run(read())


def test_set_show_and_remove_a_shared_secret(tmp_path: Path) -> None:
    """`set --secret-file` stores the secret and the defaults (audience: the site's name, both
    policies); `show` describes it without the secret; `remove` turns sign-in off."""
    database = migrated(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    done = livethread(
        "sign-in", "set", "news", "--secret-file", str(secret), "--trust-role", "staff",
        "--database", database,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stored(database) == SignIn(
        site="news", audience="news", secret=SECRET, roles=("staff",), policy="both"
    )
    shown = livethread("sign-in", "show", "news", "--database", database)
    assert shown.returncode == 0 and "HS256 with a shared secret" in shown.stdout
    assert SECRET not in shown.stdout + done.stdout
    removed = livethread("sign-in", "remove", "news", "--database", database)
    assert removed.returncode == 0 and stored(database) is None
    again = livethread("sign-in", "remove", "news", "--database", database)
    assert again.returncode == 2 and "has no sign-in" in again.stderr


def test_a_public_key_is_checked_and_stored(tmp_path: Path) -> None:
    """An EC public key in PEM is taken with the policy and issuer given."""
    database = migrated(tmp_path)
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key = tmp_path / "key.pem"
    key.write_bytes(pem)
    done = livethread(
        "sign-in", "set", "news", "--public-key-file", str(key), "--policy", "accounts",
        "--issuer", "https://id.news.example", "--audience", "comments", "--database", database,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = stored(database)
    assert found is not None and found.public_key == pem.decode()
    assert (found.policy, found.issuer, found.audience) == (
        "accounts",
        "https://id.news.example",
        "comments",
    )


@pytest.mark.parametrize(
    ("option", "content", "problem"),
    [
        ("--secret-file", "short", "at least 32 bytes"),
        ("--public-key-file", "not a key", "not an RSA or EC public key"),
        ("--jwks-url", "ftp://keys.example/jwks.json", "give an https:// URL"),
    ],
)
def test_a_bad_key_is_refused_and_nothing_stored(
    tmp_path: Path, option: str, content: str, problem: str
) -> None:
    """A short secret, a file that is no public key or a JWKS URL that is not http(s) exits 2
    naming the option; the site keeps no sign-in."""
    database = migrated(tmp_path)
    value = content
    if option != "--jwks-url":
        (tmp_path / "given").write_text(content)
        value = str(tmp_path / "given")
    done = livethread("sign-in", "set", "news", option, value, "--database", database)
    assert done.returncode == 2
    assert option in done.stderr and problem in done.stderr
    assert stored(database) is None


def test_an_unknown_site_is_refused(tmp_path: Path) -> None:
    """Sign-in for a site that does not exist exits 2 and says how to add it."""
    database = migrated(tmp_path)
    done = livethread(
        "sign-in", "set", "elsewhere", "--jwks-url", "https://id.example/jwks.json",
        "--database", database,
    )  # fmt: skip
    assert done.returncode == 2 and "livethread site add" in done.stderr
