"""No configuration value reaches a shell or SQL as text: checked on the source itself.

Palier's code is read (AST, not grep) for the two ways a value could become code:

* a shell: ``shell=True`` on any ``subprocess`` call, ``os.system``, ``os.popen`` — none
  allowed (the embedded broker is started with an argument list);
* SQL text: ``text(...)``, ``exec_driver_sql(...)``, ``execute(...)`` given an f-string, a
  ``%`` or a ``.format`` — allowed only when every interpolated part is a module constant
  (``POSTS_FTS``, ``_BUSY_TIMEOUT_MS``) or a call on constants; values go in as bound
  parameters.

Installer templates are the third way, and run in a sandbox (test_template_sandbox.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "social", "rules", "devices", "firmware_bridge")
SQL_CALLS = {"text", "exec_driver_sql", "execute", "executescript"}
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
#: Reviewed exceptions: (file, source of the call) -> why the interpolated value is fixed.
REVIEWED = {
    ("social/migrations/versions/0003_alarm_lifecycle.py", "sa.text(f\"'{default}'\")"):
        "a column's server default, given as a literal by each migration step",
    ("social/migrations/versions/0005_search.py",
     'op.execute(f"DROP TRIGGER IF EXISTS {trigger}")'):
        "trigger names from a literal tuple in the migration",
}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _constant(expr: ast.expr) -> bool:
    """A value fixed by the code: a literal, a CONSTANT, or a call on such values."""
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, ast.Name):
        return bool(CONSTANT.match(expr.id))
    if isinstance(expr, ast.Attribute):  # module.CONSTANT
        return bool(CONSTANT.match(expr.attr))
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Mod):
        return _constant(expr.left) and _constant(expr.right)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        return all(_constant(a) for a in expr.args) and all(
            _constant(k.value) for k in expr.keywords)
    if isinstance(expr, ast.FormattedValue):
        return _constant(expr.value)
    if isinstance(expr, ast.JoinedStr):
        return all(_constant(v) for v in expr.values)
    return False


def _built_text(arg: ast.expr) -> bool:
    """Is ``arg`` a string assembled at run time from something not constant?"""
    if isinstance(arg, ast.JoinedStr):
        return not _constant(arg)
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod | ast.Add):
        return not (_constant(arg.left) and _constant(arg.right))
    if (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
            and arg.func.attr == "format"):
        return not all(_constant(a) for a in arg.args) or not all(
            _constant(k.value) for k in arg.keywords)
    return False


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return f"{owner}.{func.attr}" if owner else func.attr
    return func.id if isinstance(func, ast.Name) else ""


def findings() -> list[str]:
    found = []
    for path in sources():
        source = path.read_text()
        tree = ast.parse(source, filename=str(path))
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in ("os.system", "os.popen"):
                found.append(f"{where}: {name} runs a shell")
            if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant)
                                             and k.value.value is False)
                   for k in node.keywords):
                found.append(f"{where}: shell=True")
            short = name.rsplit(".", 1)[-1]
            if short in SQL_CALLS and node.args and _built_text(node.args[0]):
                if (relative, ast.get_source_segment(source, node)) in REVIEWED:
                    continue
                found.append(f"{where}: SQL text built from a run-time value in {name}()")
    return found


def test_no_shell_and_no_sql_built_from_values() -> None:
    assert len(sources()) > 100, "the scan sees the code"
    assert findings() == []


def test_the_scan_would_see_one(tmp_path: Path) -> None:
    """The control: the same rules flag the patterns they are meant to flag."""
    bad = ast.parse('text(f"SELECT * FROM {table}")\nsubprocess.run(cmd, shell=True)\n'
                    'conn.exec_driver_sql("DROP %s" % name)\nos.system(x)\n'
                    'text(f"SELECT {CONSTANT}")\n')
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Call)]
    flagged = [_name(c) for c in calls if c.args and _built_text(c.args[0])]
    assert flagged == ["text", "conn.exec_driver_sql"]
    assert any(k.arg == "shell" for c in calls for k in c.keywords)
