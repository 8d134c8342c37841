"""Sweep cases that hit a known, open discrepancy (each has an issue item or a report).

The CI sweep leaves these cases out (and prints how many it left out); the big sweep
(`--collect`) runs them, so it shows whether each is still open. Remove an entry when
its fix lands: the CI sweep then covers the case again. Every entry found by the sweep
so far has been fixed, so the list is empty.
"""


def known_open(case):
    """Why this case is known to fail today, or None."""
    return None
