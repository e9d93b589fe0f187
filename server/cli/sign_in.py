"""`livethread sign-in set|show|remove SITE`: how a site's readers sign in (single sign-on).

The publisher's backend signs a token for each of its signed-in readers; livethread checks it
with one key per site: an HS256 secret both sides know (`--secret-file`), or the publisher's
RS256/ES256 public key (`--public-key-file`, PEM) or its JWKS (`--jwks-url`). Every value is
checked before anything is written; `show` never prints the secret.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from server.accounts.ports import SignIn
from server.cli.command import Commands, subcommand, with_store
from server.settings import Settings
from server.storage import Storage
from server.validation import validate_ids

SECRET_MIN = 32  # bytes: HS256's key should be at least as long as its hash (RFC 7518 3.2)
POLICIES = ("both", "accounts", "anonymous")


def register(commands: Commands) -> None:
    """Add `sign-in set`, `sign-in show` and `sign-in remove` to the command line."""
    sign_in = commands.add_parser("sign-in", help="how a site's readers sign in (SSO)")
    actions = sign_in.add_subparsers(required=True)
    put = subcommand(actions, "set", "set (or replace) a site's sign-in", _set, "site")
    key = put.add_mutually_exclusive_group(required=True)
    key.add_argument("--secret-file", type=Path, help="HS256: a file holding the shared secret")
    key.add_argument("--public-key-file", type=Path, help="RS256/ES256: the public key, PEM")
    key.add_argument("--jwks-url", help="RS256/ES256: the publisher's JWKS document (https)")
    put.add_argument("--audience", help="the tokens' `aud` (default: the site's name)")
    put.add_argument("--issuer", help="the tokens' `iss`, when they must name one")
    put.add_argument(
        "--policy",
        choices=POLICIES,
        default="both",
        help="who may comment: anonymous and signed-in readers (both), signed-in only "
        "(accounts), or anonymous only (anonymous: sign-in off)",
    )
    put.add_argument(
        "--trust-role",
        action="append",
        default=[],
        metavar="ROLE",
        help="a role the tokens' `roles` claim may give (repeatable)",
    )
    subcommand(actions, "show", "print a site's sign-in (never its secret)", _show, "site")
    subcommand(actions, "remove", "turn sign-in off for a site", _remove, "site")


def _error(message: str) -> int:
    print(f"livethread: error: {message}", file=sys.stderr)
    return 2


def checked(args: argparse.Namespace) -> SignIn:
    """The sign-in the options describe; ValueError naming the option that is wrong."""
    validate_ids(args.site, "-")
    secret = public_key = jwks_url = None
    if args.secret_file is not None:
        secret = _read(args.secret_file, "--secret-file").strip()
        if len(secret.encode()) < SECRET_MIN:
            raise ValueError(f"--secret-file: the secret must be at least {SECRET_MIN} bytes")
    elif args.public_key_file is not None:
        public_key = _read(args.public_key_file, "--public-key-file")
        import jwt  # the command line's other commands do without PyJWT

        try:
            jwt.PyJWK.from_dict(_jwk(public_key))
        except (ValueError, jwt.PyJWTError) as exc:
            raise ValueError(f"--public-key-file: not an RSA or EC public key ({exc})") from None
    else:
        jwks_url = args.jwks_url
        parts = urlsplit(jwks_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("--jwks-url: give an https:// URL")
    return SignIn(
        site=args.site,
        policy=args.policy,
        audience=args.audience or args.site,
        issuer=args.issuer,
        secret=secret,
        public_key=public_key,
        jwks_url=jwks_url,
        roles=tuple(sorted(set(args.trust_role))),
    )


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{option}: cannot read {path}: {exc}") from None


def _jwk(pem: str) -> dict[str, object]:
    """The PEM public key as a JWK, to check that it is one PyJWT verifies with."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode())
    if isinstance(key, rsa.RSAPublicKey):
        return dict(jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True))
    if isinstance(key, ec.EllipticCurvePublicKey):
        return dict(jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True))
    raise ValueError("only RSA and EC keys are accepted")


def describe(sign_in: SignIn) -> str:
    if sign_in.secret is not None:
        key = "HS256 with a shared secret"
    elif sign_in.public_key is not None:
        key = "RS256/ES256 with a public key"
    else:
        key = f"RS256/ES256 with the keys at {sign_in.jwks_url}"
    roles = ", ".join(sign_in.roles) or "none"
    return (
        f"  policy: {sign_in.policy}\n  key: {key}\n  audience: {sign_in.audience}\n"
        f"  issuer: {sign_in.issuer or 'any'}\n  trusted roles: {roles}\n"
    )


def _set(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sign_in = checked(args)
    except ValueError as exc:
        return _error(str(exc))

    async def work(store: Storage) -> int:
        if await store.sites.get(sign_in.site) is None:
            return _error(f"no site {sign_in.site!r}: add it with `livethread site add`")
        await store.sign_ins.put(sign_in)
        print(f"sign-in for {sign_in.site} set\n{describe(sign_in)}", end="")
        return 0

    return with_store(settings, work)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        found = await store.sign_ins.get(args.site)
        if found is None:
            print(f"{args.site}: no sign-in (anonymous readers only)")
            return 0
        print(f"sign-in for {args.site}\n{describe(found)}", end="")
        return 0

    return with_store(settings, work)


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        if not await store.sign_ins.remove(args.site):
            return _error(f"{args.site} has no sign-in")
        print(f"sign-in for {args.site} removed: anonymous readers only")
        return 0

    return with_store(settings, work)
