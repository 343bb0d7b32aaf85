"""Installer templates cannot reach Python: refused at validation, inert when rendered.

Rule texts are Jinja2 templates written by installers and rendered by the engine. The
classic escapes (``''.__class__.__mro__``, ``cycler.__init__.__globals__``,
``x|attr('__class__')``) are refused by ``palier validate`` and ``palier run`` with
``file:line:column``; and should one reach the renderer anyway, the sandbox refuses it
there too (the raw text is shown, nothing runs).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jinja2.sandbox import SandboxedEnvironment

from rules.templates import TemplateRenderer
from tests.integration.harness import INSTALLATION

ROOT = Path(__file__).resolve().parents[2]
ESCAPES = {
    "mro": ("{{ ''.__class__.__mro__ }}", "'__class__', '__mro__'"),
    "globals": ("{{ cycler.__init__.__globals__ }}", "'__init__', '__globals__'"),
    "subscript": ("{{ device['__class__'] }}", "'__class__'"),
    "attr filter": ("{{ device|attr('__dict__') }}", "'__dict__'"),
}


@pytest.mark.parametrize(("template", "names"), ESCAPES.values(), ids=list(ESCAPES))
def test_validate_refuses_an_escape_with_its_position(tmp_path: Path, template: str,
                                                      names: str) -> None:
    config = tmp_path / "config"
    shutil.copytree(INSTALLATION, config)
    rules = config / "rules" / "water.yaml"
    source = rules.read_text()
    original = 'en: "Water leak — {{ device.place.name }}"'
    assert original in source
    rules.write_text(source.replace(original, f'en: "{template}"'))
    line = next(n for n, text in enumerate(rules.read_text().splitlines(), 1) if template in text)
    column = rules.read_text().splitlines()[line - 1].index('"') + 1
    commands = [["validate", "--config", str(config)]]
    if "__mro__" in template:  # run refuses to start on the same grounds (one case suffices)
        commands.append(["run", "--config", str(config), "--listen", "127.0.0.1:1"])
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "gateway.cli", *command],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        out = done.stdout + done.stderr
        assert done.returncode == 1, out
        assert (f"{rules}:{line}:{column}: rules[0].raise.post.title.en: template error: "
                f"{names} not allowed") in out
        assert "Traceback" not in out


def test_the_renderer_is_a_sandbox_and_shows_an_escape_raw() -> None:
    renderer = TemplateRenderer()
    assert isinstance(renderer._env, SandboxedEnvironment)
    for template, _ in ESCAPES.values():
        rendered = renderer.render(template, {"device": {"name": "cave"}, "cycler": object()})
        assert rendered == {"fr": template, "en": template}, "nothing evaluated"
    assert renderer.render("{{ device.name }}", {"device": {"name": "cave"}})["en"] == "cave"
