"""docs/architecture.md indexes every clinical rule (issue 10, point 1): each `file::name` it names exists, the
eligibility table is the rule table itself, and every domain module is indexed."""

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
# `ketacare/x/domain/y.py::name`, then optionally more names in backticks on the same row: `other`, `third`
ROW_REFERENCE = re.compile(r"`(ketacare/[\w/]+\.py)::(\w+)`((?:,\s*`\w+`)*)")


def top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def references() -> list[tuple[str, str]]:
    found = []
    for match in ROW_REFERENCE.finditer(DOC):
        found.append((match[1], match[2]))
        found += [(match[1], extra) for extra in re.findall(r"`(\w+)`", match[3])]
    return found


def test_every_function_the_index_names_exists():
    assert len(references()) > 40
    missing = [f"{path}::{name}" for path, name in references()
               if not (ROOT / path).exists() or name not in top_level_names(ROOT / path)]
    assert not missing, f"docs/architecture.md names what is not there: {missing}"


def test_every_domain_module_with_rules_is_in_the_index():
    indexed = {path for path, _name in references()}
    modules = [p.relative_to(ROOT).as_posix() for p in ROOT.glob("ketacare/*/domain/*.py")
               if p.name != "__init__.py" and p.stat().st_size > 0]
    # Modules of plain types and conversions, with no clinical rule of their own.
    plumbing = {"ketacare/instruments/domain/model.py", "ketacare/instruments/domain/catalog.py",
                "ketacare/instruments/domain/messages.py", "ketacare/screening/domain/snapshot.py"}
    missing = sorted(set(modules) - indexed - plumbing)
    assert not missing, f"domain modules missing from docs/architecture.md's rule index: {missing}"


def test_the_eligibility_table_is_generated_from_the_rules():
    spec = importlib.util.spec_from_file_location("rule_index", ROOT / "scripts" / "rule_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.rewritten(DOC) == DOC, "run `python scripts/rule_index.py --write`"
    from ketacare.screening.domain.rules import RULES

    assert all(f"`{rule.code}`" in DOC for rule in RULES)
