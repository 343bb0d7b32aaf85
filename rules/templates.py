"""Installer templates (post titles and bodies), rendered in a Jinja2 sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from rules.schema import Text

LANGUAGES = ("fr", "en")


class TemplateRenderer:
    """Compiles each template once; a rendering error yields the raw template, never a crash."""

    def __init__(self) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self._cache: dict[str, Any] = {}

    def _render_one(self, source: str, context: Mapping[str, object]) -> str:
        template = self._cache.get(source)
        if template is None:
            template = self._cache[source] = self._env.from_string(source)
        try:
            return template.render(context)
        except TemplateError:
            return source

    def render(self, text: Text | str | None, context: Mapping[str, object]) -> dict[str, str]:
        """``text`` in every resident language (a plain string serves all of them)."""
        if text is None:
            return {}
        if isinstance(text, str):
            rendered = self._render_one(text, context)
            return {lang: rendered for lang in LANGUAGES}
        return {lang: self._render_one(getattr(text, lang), context) for lang in LANGUAGES}
