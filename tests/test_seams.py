"""The seam between appointments and screening stays one module wide each way.

Appointments reads screening only through screening/eligibility.py (the gate's verdict,
the current screening, who may see health notes); screening changes appointments only
through the holds part of the booking services. A new import across the seam fails
here, so it is a decision someone makes on purpose, not a drift.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The few places allowed more, and why.
APPOINTMENTS_MAY_ALSO_IMPORT = {
    # A therapist stopping a session sends the client's screening back to review:
    # the one change appointments makes to screening.
    ("appointments/visits.py", "screening.services"),
    # The outbox sends the screening decision emails the screening services owe.
    ("appointments/notifications.py", "screening.notifications"),
    ("appointments/notifications.py", "screening.models"),
    # Demo data submits screenings as a client would.
    ("appointments/management/commands/seed_demo.py", "screening.rules"),
    ("appointments/management/commands/seed_demo.py", "screening.services"),
}


def imports(path: Path) -> set[str]:
    """Everything `path` imports, as dotted names: `from x import y` gives x.y, so
    `from appointments import services` is appointments.services and
    `from appointments.services import holds` is appointments.services.holds."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def sources(app: str) -> list[Path]:
    return sorted(path for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts)


def test_appointments_reads_screening_only_through_eligibility():
    crossing = []
    for path in sources("appointments"):
        relative = path.relative_to(ROOT).as_posix()
        for name in imports(path):
            if not name.startswith("screening.") or name.startswith("screening.eligibility"):
                continue
            if any(
                relative == allowed_path and name.startswith(allowed)
                for allowed_path, allowed in APPOINTMENTS_MAY_ALSO_IMPORT
            ):
                continue
            crossing.append(f"{relative} imports {name}")
    assert crossing == []


HOLDS = {"appointments.services.holds"}


def test_screening_changes_appointments_only_through_the_holds():
    crossing = []
    for path in sources("screening"):
        relative = path.relative_to(ROOT).as_posix()
        for name in imports(path):
            reaches_services = name.startswith("appointments.services") or name == (
                "appointments.services"
            )
            if reaches_services and not any(
                name == holds or name.startswith(holds + ".") for holds in HOLDS
            ):
                crossing.append(f"{relative} imports {name}")
    assert crossing == []


@pytest.mark.parametrize(
    ("module", "crosses_to"),
    [("screening/services.py", "appointments"), ("appointments/visits.py", "screening")],
)
def test_the_seam_test_sees_imports(module, crosses_to):
    """The checks above would pass on nothing at all; make sure they read real imports."""
    assert any(name.startswith(crosses_to + ".") for name in imports(ROOT / module))
