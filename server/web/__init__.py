"""The web edge: Starlette routes, auth, the composition root. Only it imports Starlette."""
