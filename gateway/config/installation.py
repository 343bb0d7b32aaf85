"""An installation as the gateway uses it, once loaded and cross-checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from devices.schema import BridgeFile
from gateway.config.errors import ConfigIssue
from rules.schema import Rule
from social.site import PlaceNode, SiteFile

Role = str


class MembershipSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    place: str
    role: str
    #: The on-call contact of the place's building, paged by rules (``raise.on_call``)
    #: and by escalations of alarms nobody acknowledged.
    on_call: bool = False


class MemberSpec(BaseModel):
    """An account to create at start-up (the demo's logins; bootstrap admins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9_.@-]*$")
    display_name: str
    password: str = Field(min_length=4)
    language: str = "fr"
    memberships: list[MembershipSpec] = Field(default_factory=list)


class MembersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    members: list[MemberSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Installation:
    root: Path
    site: SiteFile
    places: dict[str, PlaceNode]
    bridges: tuple[BridgeFile, ...]
    rules: tuple[Rule, ...]
    members: tuple[MemberSpec, ...] = field(default=())
    #: What loaded but looks wrong (an unquoted ``on`` read as true...), in file order;
    #: for ``palier validate``, the start-up log and the status API to show.
    warnings: tuple[ConfigIssue, ...] = field(default=())
    #: The files it was loaded from, relative to ``root`` (``site.yaml``,
    #: ``bridges/zigbee.yaml``...), in the order they were read.
    files: tuple[str, ...] = field(default=())

    def building_of(self, place_id: str) -> str | None:
        """The building a place lies in (itself if it is one), or None above buildings."""
        node = self.places.get(place_id)
        while node is not None:
            if node.kind == "building":
                return node.id
            node = self.places.get(node.parent_id) if node.parent_id else None
        return None

    def ancestor(self, place_id: str, kind: str) -> str | None:
        """The place of ``kind`` at or above ``place_id``."""
        node = self.places.get(place_id)
        while node is not None:
            if node.kind == kind:
                return node.id
            node = self.places.get(node.parent_id) if node.parent_id else None
        return None
