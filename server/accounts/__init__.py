"""The accounts room: readers signed in by their publisher (single sign-on), who they are, and
what their sign-in lets them do (post under their own name, edit and delete from any device)."""

__all__ = ["keys", "ports", "readers", "tokens"]
