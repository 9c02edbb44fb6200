"""A refusal check for outgoing message text: no diagnosis, drug, instrument or score words (privacy.md §4,
minimum necessary). A message may name the clinic, the recipient's first name, a link and its expiry; it says
nothing about why the person is seen.

Pure Python. The check is a safety net, not the guarantee: callers build messages from fixed templates. Names are
checked by the caller, which knows them (`forbidden` below).
"""

import re
from collections.abc import Iterable

# Drug, diagnosis and instrument words that would disclose treatment (lower case, matched as whole words).
DISCLOSING_WORDS = frozenset({
    "ketamine", "esketamine", "spravato", "ketalar", "depression", "depressive", "mdd", "trd", "ptsd", "anxiety",
    "bipolar", "suicide", "suicidal", "psychosis", "phq-9", "phq9", "gad-7", "gad7", "c-ssrs", "cssrs", "madrs",
    "lsas", "spin", "score", "scored", "dose", "dosing", "diagnosis",
})
_WORD = re.compile(r"[a-z0-9][a-z0-9-]*")


def findings(text: str, *, allowed: Iterable[str] = (), forbidden: Iterable[str] = ()) -> list[str]:
    """The disclosing words in `text` (sorted, unique). `allowed` phrases are removed first (the clinic's own name,
    which may contain a drug name); each `forbidden` phrase (e.g. a patient's full name) found is reported too."""
    lowered = text.lower()
    for phrase in allowed:
        if phrase:
            lowered = lowered.replace(phrase.lower(), " ")
    found = {w for w in _WORD.findall(lowered) if w in DISCLOSING_WORDS}
    found |= {p.lower() for p in forbidden if p and p.lower() in lowered}
    return sorted(found)
