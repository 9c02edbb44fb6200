"""Apps talk through each other's selectors and services only (issue 10, point 6; docs/architecture.md, "Layers").

Read from the source, not from the running app, so that an import inside a function counts as much as one at the top
of a module; imports under `if TYPE_CHECKING:` are for type names only and do not count.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ketacare"
APPS = sorted(p.name for p in PACKAGE.iterdir() if (p / "apps.py").exists())

# The base layer: every app may use these, including their models (the clinic, the user, the audit actions).
FOUNDATION = {"core", "accounts", "audit"}
# `core` is below the rest of the foundation: it imports no other app.
BASE = "core"
# Generated data (the demo clinic, the synthetic network) writes every app's tables in bulk; no app imports it.
GENERATED_DATA = "seed"
# The reporting reads, named one by one: the outcomes app reads other apps' tables for its reports and letters
# (whole cohorts in a few queries; a selector per row would be thousands). Anything else needs a selector.
REPORTING_READS = {
    "outcomes/selectors.py": {"instruments", "safety", "screening", "treatment"},
    "outcomes/patient_rows.py": {"instruments", "treatment"},
    "outcomes/letters.py": {"screening", "treatment"},
    "outcomes/panels.py": {"instruments"},
    "outcomes/services.py": {"patients"},
}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports() -> list[tuple[str, str, str, int]]:
    """(module path under ketacare/, imported app, imported module within it, line) for every cross-app import."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if "migrations" in relative.parts or "tests" in relative.parts or relative.parts[0] not in APPS:
            continue
        tree = ast.parse(path.read_text())
        skipped = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno in skipped:
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [f"{node.module}.{a.name}" for a in node.names] if node.module else [])
            for name in names:
                parts = name.split(".")
                if len(parts) >= 3 and parts[0] == "ketacare" and parts[1] in APPS and parts[1] != relative.parts[0]:
                    found.append((relative.as_posix(), parts[1], parts[2], node.lineno))
    return found


def test_the_scan_sees_the_apps_and_their_imports():
    assert {"core", "accounts", "audit", "patients", "treatment", "outcomes"} <= set(APPS)
    assert len(imports()) > 100


def test_core_is_the_base_layer_and_imports_no_app():
    offending = [f"ketacare/{path}:{line} imports {app}" for path, app, _m, line in imports()
                 if path.split("/")[0] == BASE]
    assert not offending, "\n".join(offending)


def test_no_module_reads_another_apps_models_outside_the_named_reporting_reads():
    offending = []
    for path, app, module, line in imports():
        owner = path.split("/")[0]
        if module != "models" or app in FOUNDATION or owner == GENERATED_DATA or path.endswith("models.py"):
            continue
        if app in REPORTING_READS.get(path, set()):
            continue
        offending.append(f"ketacare/{path}:{line} imports ketacare.{app}.models: add a selector to {app}")
    assert not offending, "\n".join(offending)


def test_the_named_reporting_reads_are_still_needed():
    used = {(path, app) for path, app, module, _line in imports() if module == "models"}
    stale = [(path, app) for path, apps in REPORTING_READS.items() for app in apps if (path, app) not in used]
    assert not stale, f"no longer imported, remove from REPORTING_READS: {stale}"


def test_no_app_imports_the_generated_data():
    offending = [f"ketacare/{path}:{line}" for path, app, _m, line in imports()
                 if app == GENERATED_DATA and path.split("/")[0] not in {GENERATED_DATA, "config"}]
    assert not offending, offending


def test_the_clinical_apps_import_each_other_without_a_cycle():
    """Above the foundation, app A importing B and B importing A (directly or round a loop) is refused: one of
    them must offer a hook the other registers with (as outcomes registers its baseline rule with instruments)."""
    edges: dict[str, set[str]] = {}
    for path, app, _module, _line in imports():
        owner = path.split("/")[0]
        if owner in FOUNDATION or app in FOUNDATION or GENERATED_DATA in (owner, app) or "config" in (owner, app):
            continue
        edges.setdefault(owner, set()).add(app)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
                   for nxt in edges.get(start, ()))

    cycles = sorted(app for app in edges if reaches(app, app, {app}))
    assert not cycles, f"apps on an import cycle: {cycles} (edges: {edges})"
