"""Secrets from the environment or from files, never from the installation's YAML.

``secret("PALIER_BROKER_PASSWORD")`` is ``$PALIER_BROKER_PASSWORD`` when set, else the
content of the file named by ``$PALIER_BROKER_PASSWORD_FILE`` (how Docker and systemd
credentials hand secrets over), without its trailing newline. The YAML an installer
checks into a repository has no field for any of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class SecretError(ValueError):
    """A ``*_FILE`` variable names a file that cannot be read (the message names both)."""


def secret(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """``$name``, else the content of the file ``$name_FILE``; None when neither is set."""
    value = environ.get(name)
    if value:
        return value
    path = environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretError(f"${name}_FILE names {path}, which cannot be read: "
                          f"{exc.strerror or exc}") from exc
    return text[:-1] if text.endswith("\n") else text
