"""Names (issue item 2), end to end: no poster appears as one of a site's moderators or as a
reserved role, and invisible characters cannot disguise or reorder a name."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio

from server import events
from server.names import MIXED_SCRIPTS
from server.settings import Settings
from server.validation import NAME_REQUIRED
from tests.support.clients import WAIT, Tokens, provision, reader
from tests.support.server import Running, serve
from tests.test_names import HONEST, ISSUE_LOOKALIKES, RESERVED_LOOKALIKES

LOOKALIKES = [
    "Lisa West",
    "lisa west",
    "L1sa \u051c\u0435\u0455\u0442",  # a digit one, and "West" in Cyrillic letters
    "\uff2c\uff49\uff53\uff41 \uff37\uff45\uff53\uff54",  # fullwidth
    "Lisa\u200b West",  # a zero-width space
    "Lisa \u202eWest",  # a right-to-left override
]
RESERVED = ["Moderator", "Admin", "administrator", "\uff33taff"]


# One server for the module, each test posting to a thread of its own: the tests are many
# and each is only a few requests.
pytestmark = pytest.mark.asyncio(loop_scope="module")
_threads = itertools.count()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def live(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Running, Tokens, httpx.AsyncClient]]:
    path = tmp_path_factory.mktemp("names") / "livethread.db"
    settings = Settings(database=f"sqlite:///{path}", rate_limit=False)
    tokens = await provision(settings)
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        yield running, tokens, http


@dataclass
class Poster:
    """Posts to, and reads, one thread of its own on either site."""

    http: httpx.AsyncClient
    thread: str

    async def post_as(self, site: str, name: str, token: str | None = None) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        payload = {"site": site, "thread": self.thread, "author": {"name": name}, "body": "Hi"}
        return await self.http.post("/api/v1/comments", json=payload, headers=headers)

    async def names(self, site: str) -> list[str]:
        """The author names the thread's snapshot shows."""
        view = await self.http.get("/api/v1/threads", params={"site": site, "thread": self.thread})
        assert view.status_code == 200
        return [c["author"]["name"] for c in view.json()["comments"] if c["author"]]


@pytest.fixture
def server(live: tuple[Running, Tokens, httpx.AsyncClient]) -> Running:
    return live[0]


@pytest.fixture
def tokens(live: tuple[Running, Tokens, httpx.AsyncClient]) -> Tokens:
    return live[1]


@pytest.fixture
def poster(live: tuple[Running, Tokens, httpx.AsyncClient]) -> Poster:
    return Poster(live[2], f"names-{next(_threads)}")


def refused_name(answer: httpx.Response) -> str:
    """The message a 422 gives for author.name (and asserts that is the field flagged)."""
    assert answer.status_code == 422, answer.text
    body: Any = msgspec.json.decode(answer.content)
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {"author.name"}, body
    message = body["fields"]["author.name"]
    assert isinstance(message, str)
    return message


@pytest.mark.parametrize("name", LOOKALIKES + RESERVED)
async def test_a_moderators_name_or_a_role_is_refused_on_the_site(
    poster: Poster, name: str
) -> None:
    """On "news", Lisa West's name (in any disguise) and reserved roles are a 422 on
    author.name, and nothing is stored."""
    assert "reserved" in refused_name(await poster.post_as("news", name))
    assert await poster.names("news") == []


@pytest.mark.parametrize("name", LOOKALIKES)
async def test_a_moderators_name_is_free_on_a_site_she_does_not_moderate(
    poster: Poster, name: str
) -> None:
    """On "other" (where Lisa is not a moderator) the same names are accepted."""
    answer = await poster.post_as("other", name)
    assert answer.status_code == 201, answer.text
    assert answer.json()["comment"]["author"]["name"] in await poster.names("other")


@pytest.mark.parametrize("name", RESERVED)
async def test_reserved_roles_are_refused_on_every_site(poster: Poster, name: str) -> None:
    """Reserved roles ("Moderator", "Admin", ...) are refused on "other" too."""
    refused_name(await poster.post_as("other", name))


async def test_the_moderator_may_post_under_her_own_name_with_her_token(
    poster: Poster, tokens: Tokens
) -> None:
    """Lisa's bearer token lets her post as "Lisa West" on news; Olaf's token (another site's
    moderator) does not, and Olaf's own name stays protected on his site."""
    own = await poster.post_as("news", "Lisa West", tokens.news)
    assert own.status_code == 201, own.text
    assert own.json()["comment"]["author"]["name"] == "Lisa West"
    refused_name(await poster.post_as("news", "Lisa West", tokens.other))
    refused_name(await poster.post_as("other", "0laf"))
    assert (await poster.post_as("other", "Olaf", tokens.other)).status_code == 201
    assert await poster.names("news") == ["Lisa West"]


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("Ann\u202eevil\u202c", "Annevil"),  # right-to-left override and pop
        ("\u2067Bob\u2069 \u200fSmith", "Bob Smith"),  # isolates and a right-to-left mark
        ("Z\u200bo\u200de\ufeff", "Zoe"),  # zero-width space and joiner, byte-order mark
        ("Mal\u00adlory\u2060", "Mallory"),  # soft hyphen, word joiner
        ("E\u0301mile", "\u00c9mile"),  # composed (NFC) after cleaning
    ],
)
async def test_invisible_characters_are_stripped_from_names(
    server: Running, poster: Poster, typed: str, shown: str
) -> None:
    """Bidi overrides, isolates, marks and zero-width characters are gone from the name in the
    201 answer, the live frame and the snapshot."""
    async with reader(server.ws("news", poster.thread)) as r:
        answer = await poster.post_as("news", typed)
        assert answer.status_code == 201, answer.text
        assert answer.json()["comment"]["author"]["name"] == shown
        (created,) = await r.events(1)
        assert isinstance(created, events.CommentCreated)
        assert created.comment.author is not None
        assert created.comment.author.name == shown
    assert await poster.names("news") == [shown]


@pytest.mark.parametrize("name", ["\u200b\u202e\u2066\ufeff", "\u200d \u2060\t\u00ad", ""])
async def test_a_name_of_only_invisible_characters_is_no_name(poster: Poster, name: str) -> None:
    """A name that is nothing once invisible characters go is refused like an empty one."""
    assert refused_name(await poster.post_as("news", name)) == NAME_REQUIRED
    assert await poster.names("news") == []


@pytest.mark.parametrize("name", ISSUE_LOOKALIKES)
async def test_the_issues_lookalikes_are_refused_on_her_site(poster: Poster, name: str) -> None:
    """Issue 13 item 1: dotless i, Hangul fillers, Greek tau, small capitals, Latin alpha, W
    with hook (and more) are a 422 on author.name on "news", and nothing is stored."""
    message = refused_name(await poster.post_as("news", name))
    assert "reserved" in message or message == MIXED_SCRIPTS
    assert await poster.names("news") == []


@pytest.mark.parametrize("name", RESERVED_LOOKALIKES)
async def test_the_reserved_names_lookalikes_are_refused_everywhere(
    poster: Poster, name: str
) -> None:
    """ "Adm\u0131n", "Moderator" with a Hangul filler and the like are a 422 on author.name on a
    site with no such moderator too."""
    refused_name(await poster.post_as("other", name))
    assert await poster.names("other") == []


@pytest.mark.parametrize("name", ["Lisa Wes\u03c4", "P\u0430ypal", "\u0391lice Smith"])
async def test_a_word_mixing_scripts_is_refused_on_every_site(poster: Poster, name: str) -> None:
    """Latin with Greek or Cyrillic in one word is refused with the mixed-script message on
    "other", where no moderator's name is at stake."""
    assert refused_name(await poster.post_as("other", name)) == MIXED_SCRIPTS


async def test_honest_names_are_accepted_as_typed(server: Running, poster: Poster) -> None:
    """Names in one script per word (accented Latin, Greek, Cyrillic, CJK, Arabic, ...) post
    with 201 on Lisa's site and are shown exactly as typed."""
    for name in HONEST:
        answer = await poster.post_as("news", name)
        assert answer.status_code == 201, (name, answer.text)
        assert answer.json()["comment"]["author"]["name"] == name
    assert await poster.names("news") == HONEST
