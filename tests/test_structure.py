"""The shape of the code: handlers wired by the composition root, one-way layers, imports that
resolve (deferred ones included), so a refactor cannot silently switch a safety net off."""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.paths import PROJECT_ROOT

PACKAGES = ("bot", "flows", "reminders", "admin_web", "config")
# Timers whose silence would hurt someone: each must have its handler in a bare service.
SAFETY_CRITICAL = {
    "ack_deadline": "re-escalation of an unacknowledged alert",
    "alert_digest": "AMBER/routine alerts held back for a digest",
    "flow_timeout": "check-in reprompt and expiry",
    "checkin": "daily check-ins, the post-discharge safety check-in included",
    "missed_checkin": "silence after check-ins raises a finding",
    "plan_day": "tomorrow's check-ins and reminders get planned",
    "reminder": "appointment reminders",
}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (PROJECT_ROOT / pkg).rglob("*.py"))


def _string_constants() -> dict[str, str]:
    """Module-level NAME = "text" across the tree (for kinds named by a constant)."""
    found: dict[str, str] = {}
    for path in _modules():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = node.value.value
    return found


def written_timer_kinds() -> set[str]:
    """Every timer kind the code can write: the `kind` of each timers.schedule(...) call (a
    literal or a named constant), each *_KIND / KIND constant, and the planner's kind table."""
    consts = _string_constants()
    kinds: set[str] = set()

    def resolve(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        name = node.id if isinstance(node, ast.Name) else \
            node.attr if isinstance(node, ast.Attribute) else None
        return consts.get(name) if name else None

    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and (getattr(node.func, "attr", None) == "schedule"
                                               or getattr(node.func, "id", None) == "schedule"):
                arg = node.args[3] if len(node.args) > 3 else next(
                    (k.value for k in node.keywords if k.arg == "kind"), None)
                if arg is not None and (kind := resolve(arg)):
                    kinds.add(kind)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id.endswith("KIND") for t in node.targets):
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    kinds.add(node.value.value)
                elif isinstance(node.value, ast.Dict):
                    kinds |= {v.value for v in node.value.values if isinstance(v, ast.Constant)}
    return kinds


def test_a_bare_service_has_a_handler_for_every_timer_kind_the_code_writes() -> None:
    """Built as `o2r serve` builds it (bot.service, channels, clock loop), in a fresh
    interpreter that never imports the admin panel."""
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from bot.service import Service\n"
        "from config.settings import load_settings\n"
        "Service(load_settings({'O2R_DB': sys.argv[1]}))\n"
        "from bot.core.timers import _HANDLERS\n"
        "print(json.dumps({'kinds': sorted(_HANDLERS),"
        " 'admin_web': any(m.startswith('admin_web') for m in sys.modules)}))\n")
    out = subprocess.run([sys.executable, "-c", probe, "/nonexistent/never-opened.db"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, check=True,
                         env={**os.environ, "O2R_MODE": "demo"})
    result = json.loads(out.stdout)
    assert result["admin_web"] is False
    handled = set(result["kinds"])
    written = written_timer_kinds()
    assert SAFETY_CRITICAL.keys() <= written, "the scan lost a kind it must see"
    assert written - handled == set(), f"timer kinds written with no handler: {written - handled}"
    for kind, why in SAFETY_CRITICAL.items():
        assert kind in handled, f"{kind} ({why}) has no handler"


def test_every_import_resolves_even_deferred_ones() -> None:
    """An import inside a function is only run when that path is taken: check them all now."""
    missing = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                    node.module.split(".")[0] in PACKAGES:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name):
                        try:
                            importlib.import_module(f"{node.module}.{alias.name}")
                        except ImportError:
                            missing.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                                           f" {node.module}.{alias.name}")
    assert missing == []


@pytest.mark.skipif(shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None,
                    reason="import-linter is not installed in this environment")
def test_an_upward_import_breaks_the_layer_contract(tmp_path: Path) -> None:
    """The contract in pyproject.toml is live: the tree passes, and the same tree with one
    import from the kernel up to the admin panel fails."""
    lint = str(Path(sys.executable).parent / "lint-imports")
    for pkg in PACKAGES:
        shutil.copytree(PROJECT_ROOT / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.db*"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    ok = subprocess.run([lint, "--no-cache"], cwd=tmp_path, env=env, capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stdout[-2000:]
    clock = tmp_path / "bot" / "core" / "clock.py"
    clock.write_text(clock.read_text() + "\nimport admin_web.permissions  # noqa\n")
    broken = subprocess.run([lint, "--no-cache"], cwd=tmp_path, env=env, capture_output=True,
                            text=True)
    assert broken.returncode != 0
    assert "bot.core.clock -> admin_web.permissions" in broken.stdout
