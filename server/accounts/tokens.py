"""A publisher's sign-in token (a JWT) checked against its site's settings, and the account it
names.

Each site verifies with exactly one kind of key, so exactly one family of algorithms: an HS256
secret, or an RS256/ES256 public key (PEM, or from a JWKS). The algorithms allowed are decided
by the site's key, never by the token's header, so `alg: none` and the old trick of signing
HS256 with a public key as the secret are refused. Every token must carry `sub`, `name`, `exp`
and the site's `aud` (and its `iss` when the site names one); `nbf` and `iat` are honoured when
present, with `LEEWAY` for the clocks of two machines. Any failure is `SignInRefused` (401),
saying which check failed and nothing of the key.
"""

from __future__ import annotations

from typing import Any

from server.accounts.ports import Account, SignIn
from server.errors import Unauthenticated
from server.language.text import Text

HMAC_ALGORITHMS = ["HS256"]
KEY_ALGORITHMS = ["RS256", "ES256"]
LEEWAY = 30.0  # seconds of clock difference between the publisher's machines and ours
ID_MAX = 200
NAME_MAX = 80  # as a typed name (server/validation.py)
ROLES_MAX = 20


class SignInRefused(Unauthenticated):
    """The sign-in token cannot be trusted: answered 401, nothing stored."""


def algorithms(sign_in: SignIn) -> list[str]:
    """The only algorithms a token for this site may use: those of the site's key."""
    return HMAC_ALGORITHMS if sign_in.secret is not None else KEY_ALGORITHMS


def header(token: str) -> dict[str, Any]:
    """The token's header, unverified (to pick a JWKS key by its `kid`); refused if unreadable
    or if it names an algorithm outside every family livethread accepts."""
    import jwt  # PyJWT, and cryptography with it: loaded by the first signed-in reader

    try:
        found = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise SignInRefused("The sign-in token is not a readable JWT") from None
    if found.get("alg") not in (*HMAC_ALGORITHMS, *KEY_ALGORITHMS):
        raise SignInRefused(f"The sign-in token's algorithm {found.get('alg')!r} is not accepted")
    return found


def claims(token: str, sign_in: SignIn, key: Any) -> dict[str, Any]:
    """The token's claims once its signature, algorithm, times, audience and issuer hold."""
    allowed = algorithms(sign_in)
    named = header(token).get("alg")
    if named not in allowed:
        raise SignInRefused(
            f"This site's sign-in tokens are signed with {' or '.join(allowed)}, not {named}"
        )
    required = ["exp", "sub", "aud", *(["iss"] if sign_in.issuer is not None else [])]
    import jwt

    try:
        decoded: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=allowed,
            audience=sign_in.audience,
            issuer=sign_in.issuer,
            leeway=LEEWAY,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        raise SignInRefused(Text("sign_in.expired")) from None
    except jwt.ImmatureSignatureError:
        raise SignInRefused("The sign-in token is not valid yet (check the clocks)") from None
    except jwt.InvalidAudienceError:
        raise SignInRefused("The sign-in token is for another site (its audience)") from None
    except jwt.InvalidIssuerError:
        raise SignInRefused("The sign-in token comes from another issuer") from None
    except jwt.MissingRequiredClaimError as exc:
        raise SignInRefused(f"The sign-in token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidSignatureError:
        raise SignInRefused("The sign-in token's signature does not match this site") from None
    except jwt.PyJWTError as exc:
        raise SignInRefused(f"The sign-in token was refused: {exc}") from None
    return decoded


def account(sign_in: SignIn, decoded: dict[str, Any]) -> Account:
    """The account a verified token names. Its name is cleaned and checked by the caller, as
    a typed name is; the roles kept are those the site trusts."""
    sub, name = decoded.get("sub"), decoded.get("name")
    if not isinstance(sub, str) or not 0 < len(sub) <= ID_MAX:
        raise SignInRefused(f"The sign-in token's 'sub' must be 1 to {ID_MAX} characters")
    if not isinstance(name, str) or not name.strip():
        raise SignInRefused("The sign-in token lacks the 'name' claim")
    email, avatar = decoded.get("email"), decoded.get("picture", decoded.get("avatar"))
    roles = decoded.get("roles", [])
    if not isinstance(roles, list) or len(roles) > ROLES_MAX:
        raise SignInRefused(f"The sign-in token's 'roles' must be a list of at most {ROLES_MAX}")
    return Account(
        site=sign_in.site,
        id=sub,
        name=name,
        email=email if isinstance(email, str) and email else None,
        avatar=avatar if isinstance(avatar, str) and avatar else None,
        roles=tuple(sorted({r for r in roles if isinstance(r, str) and r in sign_in.roles})),
    )
