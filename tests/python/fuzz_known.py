"""Sweep cases that hit a known, open discrepancy (each has an issue item or a report).

The CI sweep leaves these cases out (and prints how many it left out); the big sweep
(`--collect`) runs them, so it shows whether each is still open. Remove an entry when
its fix lands: the CI sweep then covers the case again.
"""


def known_open(case):
    """Why this case is known to fail today, or None."""
    fam = case["family"]
    if fam == "binary" and case["op"] in ("floordiv", "mod") and case["specials"]:
        return "floor_divide / remainder by an infinity give NaN (issue 10 item 16)"
    if fam == "softmax" and case["specials"] and len(case["shape"]) == 0:
        return "softmax/log_softmax of a 0-d NaN or infinity give 1 / 0, PyTorch NaN (issue 10 item 16)"
    return None
