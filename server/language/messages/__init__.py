"""One catalog per language, `MESSAGES`: English (en.py) names every key, the others translate
each with the same placeholders (checked by tests/test_language_catalogs.py)."""
