"""Every citation of a clinical source in the code, tests and docs resolves to a section of a file in docs/domain/
(issue 10, point 1): a clone alone can check every cited rule."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT / "docs" / "domain"
CITATION = re.compile(r"\b(?P<file>[a-z][a-z0-9-]*\.md)\s*§\s*(?P<section>\d+(?:\.\d+)*)")
SEARCHED = [ROOT / "ketacare", ROOT / "tests", ROOT / "docs", ROOT / "README.md", ROOT / "benchmarks"]
SUFFIXES = {".py", ".html", ".md", ".txt", ".json"}


def sources() -> list[Path]:
    files = []
    for place in SEARCHED:
        files += [place] if place.is_file() else [p for p in place.rglob("*") if p.suffix in SUFFIXES]
    return [f for f in files if "migrations" not in f.parts]


def sections(path: Path) -> set[str]:
    """The section numbers of a domain file's headings: "## 6. Hemodynamic…" → 6, "### 1.1 Dosing…" → 1.1."""
    found = set()
    for line in path.read_text().splitlines():
        # a heading ("## 6. …", "### 1.1 …") or a numbered rule in bold at the start of a line ("**13.5** …")
        match = re.match(r"^(?:#+\s+(?:§\s*)?|\*\*)(\d+(?:\.\d+)*)[.\s)*]", line + " ")
        if match:
            found.add(match[1])
    return found


def citations() -> list[tuple[Path, int, str, str]]:
    cited = []
    for path in sources():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            cited += [(path, number, m["file"], m["section"]) for m in CITATION.finditer(line)]
    return cited


def test_the_code_cites_the_domain_files_hundreds_of_times():
    assert len(citations()) > 250  # the code carries its sources; a search that finds none is broken


def test_every_citation_resolves_to_a_section_of_a_file_in_docs_domain():
    known = {path.name: sections(path) for path in DOMAIN.glob("*.md")}
    unresolved = []
    for path, number, name, section in citations():
        if name not in known:
            if name not in {"README.md", "STYLE.md", "TOOLCHAIN.md"}:
                unresolved.append(f"{path.relative_to(ROOT)}:{number}: {name} is not in docs/domain/")
        elif section not in known[name]:
            unresolved.append(f"{path.relative_to(ROOT)}:{number}: {name} has no section {section}")
    assert not unresolved, "\n".join(unresolved)


def test_no_citation_points_outside_the_repository():
    outside = [f"{path.relative_to(ROOT)}:{number}" for path in sources()
               for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
               if "shared/domain" in line and path.name != Path(__file__).name]
    assert not outside, outside
