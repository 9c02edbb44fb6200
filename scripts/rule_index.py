"""The eligibility rows of docs/architecture.md's rule index, generated from the rule table itself.

    python scripts/rule_index.py           # print the table
    python scripts/rule_index.py --write   # rewrite it in docs/architecture.md (between its markers)

tests/test_architecture_doc.py fails when the page and the table disagree.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
START = re.compile(r"^<!-- eligibility-rules:start.*-->$", re.M)
END = "<!-- eligibility-rules:end -->"
sys.path.insert(0, str(ROOT))


def eligibility_rows() -> str:
    from ketacare.screening.domain.rules import RULES  # pure Python: no Django needed

    lines = ["| rule code | routes | verdict | facts it reads | source |", "|---|---|---|---|---|"]
    for rule in RULES:
        routes = ", ".join(sorted(route.value for route in rule.routes))
        facts = ", ".join(rule.needs) or "—"
        lines.append(f"| `{rule.code}` | {routes} | {rule.verdict.value} | {facts} | "
                     f"{rule.citation.file} {rule.citation.section} |")
    return "\n".join(lines)


def rewritten(text: str) -> str:
    start = START.search(text)
    end = text.index(END)
    assert start is not None and start.end() < end, "docs/architecture.md lost its eligibility-rules markers"
    return text[: start.end()] + "\n" + eligibility_rows() + "\n" + text[end:]


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        DOC.write_text(rewritten(DOC.read_text()))
    else:
        print(eligibility_rows())
