"""How the shipped instruments are presented: a short name for lists and who usually answers each.

Source: docs/domain/instruments.md §0 (registry summary: names, and the "Rater" column: PHQ-9, GAD-7, SPIN,
Mini-SPIN, pain NRS self; LSAS-CR, CADSS, MOAA/S, BPRS+, CGI clinician; C-SSRS screener clinician or self, entered
by a clinician here because the electronic self-report form is licensed, §6) and §12 (VAS-Anxiety, self-rated).
Only defaults of the entry form: staff can always choose who answered.
"""

SHORT_NAMES = {
    "phq-9": "PHQ-9",
    "gad-7": "GAD-7",
    "lsas-sr": "LSAS-SR",
    "lsas-cr": "LSAS-CR",
    "spin": "SPIN",
    "mini-spin": "Mini-SPIN",
    "cssrs-screen": "C-SSRS screen",
    "cadss-6": "CADSS-6",
    "cadss-23": "CADSS",
    "moaas": "MOAA/S",
    "bprs-positive": "BPRS+",
    "cgi-s": "CGI-S",
    "cgi-i": "CGI-I",
    "vas-anxiety": "VAS-Anxiety",
    "pain-nrs": "Pain NRS",
}

CLINICIAN_RATED = frozenset(
    {"lsas-cr", "cssrs-screen", "cadss-6", "cadss-23", "moaas", "bprs-positive", "cgi-s", "cgi-i"}
)


def short_name(key: str, title: str | None = None) -> str:
    """The short name of a shipped instrument; an imported one is shown by its title (or key)."""
    return SHORT_NAMES.get(key) or title or key


def default_mode(instrument_key: str) -> str:
    """"clinician" for clinician-rated instruments, else "self_report" (imported instruments included)."""
    return "clinician" if instrument_key in CLINICIAN_RATED else "self_report"
