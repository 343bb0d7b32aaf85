"""Loading an installation directory, with every mistake reported at once.

Layout::

    site.yaml           required: the places (social.site.SiteFile)
    bridges/*.yaml      one bridge and its devices each (devices.schema.BridgeFile)
    rules/*.yaml        rules (rules.schema.RuleFile)
    members.yaml        optional: accounts created at start-up (MembersFile)

Each file is parsed once with positions (:mod:`gateway.config.yaml_positions`) and
validated by its pydantic model, whose errors are mapped back to ``line:column``
(:mod:`gateway.config.pydantic_errors`). Checks between files then run on the raw
data (:mod:`gateway.config.cross_checks`), so that one bad item never hides the
others: the installer fixes everything in one pass instead of one error per restart.

Errors stop the load (:class:`ConfigError`); warnings do not, and are kept on the
:class:`Installation` for whoever starts it to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from devices.schema import BridgeFile
from gateway.config.cross_checks import ROLES, CrossChecks
from gateway.config.errors import ConfigError, ConfigIssue, in_file_order
from gateway.config.installation import Installation, MembersFile
from gateway.config.pydantic_errors import translate_errors, yaml11_value_warnings
from gateway.config.yaml_positions import YamlDocument, parse_yaml
from rules.schema import RuleFile
from social.site import SiteFile, expand_site

__all__ = ["BRIDGES_DIR", "MEMBERS_FILE", "ROLES", "RULES_DIR", "SITE_FILE", "load_installation"]

SITE_FILE = "site.yaml"
MEMBERS_FILE = "members.yaml"
BRIDGES_DIR = "bridges"
RULES_DIR = "rules"

M = TypeVar("M", bound=BaseModel)


def load_installation(root: Path) -> Installation:
    """The installation under ``root``, its warnings attached.

    Raises :class:`ConfigError` listing every error (and every warning) when there is
    at least one error.
    """
    if not root.is_dir():
        problem = "not a directory" if root.exists() else "no such directory"
        raise ConfigError([ConfigIssue(str(root), 1, 1, "-", problem)])
    issues: list[ConfigIssue] = []
    site = _load(root, SITE_FILE, SiteFile, issues)
    bridge_files = _yaml_files(root, BRIDGES_DIR, issues)
    bridges = [_load(root, rel, BridgeFile, issues) for rel in bridge_files]
    rule_files = _yaml_files(root, RULES_DIR, issues)
    rules = [_load(root, rel, RuleFile, issues) for rel in rule_files]
    members = None
    if (root / MEMBERS_FILE).exists():
        members = _load(root, MEMBERS_FILE, MembersFile, issues)

    places = {node.id: node for node in expand_site(site.model)} if site.model else None
    checks = CrossChecks(places, root)
    checks.site(site.doc)
    checks.devices([b.doc for b in bridges])
    checks.rules([r.doc for r in rules])
    if members is not None:
        checks.members(members.doc)
    issues = _superseded_dropped(issues + checks.issues)
    if any(not issue.is_warning for issue in issues):
        raise ConfigError(issues)

    assert site.model is not None and places is not None
    return Installation(
        root=root,
        site=site.model,
        places=places,
        bridges=tuple(b.model for b in bridges if b.model),
        rules=tuple(rule for r in rules if r.model for rule in r.model.rules),
        members=tuple(members.model.members) if members and members.model else (),
        warnings=tuple(in_file_order(issues)),
        files=(SITE_FILE, *bridge_files, *rule_files, *([MEMBERS_FILE] if members else [])),
    )


def _superseded_dropped(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Warnings at a spot that also has an error: the error says it, with the same hint."""
    errors = {(i.path, i.line, i.column) for i in issues if not i.is_warning}
    return [i for i in issues if not (i.is_warning and (i.path, i.line, i.column) in errors)]


# --- files ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Loaded(Generic[M]):
    doc: YamlDocument | None
    model: M | None


def _yaml_files(root: Path, sub: str, issues: list[ConfigIssue]) -> list[str]:
    """``sub/*.yaml`` in sorted order; a ``.yml`` file is an issue rather than silently skipped."""
    folder = root / sub
    if not folder.is_dir():
        return []
    try:
        paths = sorted(folder.iterdir())
    except OSError as exc:
        issues.append(ConfigIssue(str(folder), 1, 1, "-", f"cannot list: {exc.strerror or exc}"))
        return []
    found = []
    for path in paths:
        if path.name.startswith("."):  # editor lock files, macOS resource forks
            continue
        if path.suffix == ".yml":
            issues.append(ConfigIssue(str(root / sub / path.name), 1, 1, "-",
                                      "ignored: name it .yaml to have it loaded"))
        elif path.suffix == ".yaml":
            found.append(f"{sub}/{path.name}")
    return found


def _load(root: Path, rel: str, model: type[M], issues: list[ConfigIssue]) -> _Loaded[M]:
    path = str(root / rel)
    text = _read_text(root / rel, path, issues)
    if text is None:
        return _Loaded(None, None)
    doc, yaml_issues = parse_yaml(text, path)
    issues += yaml_issues
    if doc is None:
        return _Loaded(None, None)
    issues += yaml11_value_warnings(doc, model)
    data = {} if doc.data is None else doc.data  # an empty file is a mapping with no keys
    try:
        return _Loaded(doc, model.model_validate(data))
    except ValidationError as exc:
        issues += translate_errors(doc, model, exc.errors(include_url=False))
        return _Loaded(doc, None)


def _read_text(file: Path, path: str, issues: list[ConfigIssue]) -> str | None:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        issues.append(ConfigIssue(path, 1, 1, "-", "file not found"))
        return None
    except IsADirectoryError:
        issues.append(ConfigIssue(path, 1, 1, "-", "is a directory, expected a YAML file"))
        return None
    except OSError as exc:
        issues.append(ConfigIssue(path, 1, 1, "-", f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        issues.append(ConfigIssue(path, line, column, "-",
                                  f"not UTF-8 text (byte 0x{raw[exc.start]:02x})"))
        return None
