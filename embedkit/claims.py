"""A sentence of the notebook's text, checked against the numbers printed beside it.

The prose interprets results ("mean pooling ranks the pairs better than [CLS]").
`claim` puts that sentence next to the comparison it rests on: it prints one line
that says whether the numbers of this run bear the sentence out. A student whose
own code gives numbers that contradict the text sees it at once, and the course's
tests (tests/test_claims.py) require every claim to hold on the solution's run.
"""

PREFIX = "[claim]"


def claim(statement: str, holds, evidence: str = "") -> bool:
    """Print whether `statement` holds on this run; `evidence` is the numbers it rests on, as text.

    Returns the verdict as a bool, so a notebook can branch on it (for example, to print a caveat).
    """
    holds = bool(holds)
    verdict = "holds" if holds else "DOES NOT HOLD on this run: read the numbers, not the sentence"
    print(f"{PREFIX} {statement} — {verdict}" + (f" ({evidence})" if evidence else ""))
    return holds
