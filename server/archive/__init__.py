"""Copying a whole deployment between stores (`livethread copy`): the `Archive` port (ports.py:
every table's whole rows in a neutral shape) and the copy and its verification (copying.py).

A package rather than one module so that the adapters may import the port: they may import only
ports and the contract (tests/test_architecture.py), and a port lives in a `ports` module.
"""

__all__ = ["copying", "ports"]
