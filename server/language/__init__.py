"""Languages: which ones the server speaks, which one a request asks for, and the texts.

The widget speaks twelve languages and sends its own as `Accept-Language`; other clients send
their browser's. Reader-facing refusals (`Text`: a message key and its parameters, whose English
rendering is the message as it always read) are translated once, at the web edge, into the
request's language; reply and confirmation mails into the language of the comment that asked
for them. Moderators', operators' and developers' messages stay English.

Modules: `supported` (the twelve), `choice` (Accept-Language), `text` (a message by key),
`catalogs` (loads `messages/<lang>.py` on first use), `dates` (a moment as each language writes
it), `translate` (a refusal's texts into a language).
"""

# What other rooms may import; the catalogs' modules are this room's own
# (tests/test_architecture.py).
__all__ = ["catalogs", "choice", "dates", "supported", "text", "translate"]
