"""The places of an installation (``config/site.yaml``) and their expansion into a tree.

Place ids are paths: ``evry`` (city), ``pyramides`` (neighbourhood), ``lilas``
(building), ``lilas/b`` (entrance), ``lilas/b/3`` or ``lilas/b/basement`` (floor),
``lilas/b/3/31`` (unit: floor number then the unit's index on the floor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.schema import ID_PATTERN

PlaceKind = Literal["city", "neighbourhood", "building", "entrance", "floor", "unit"]
Language = Literal["fr", "en"]

#: The order of kinds from the widest circle to the narrowest.
KIND_ORDER: tuple[PlaceKind, ...] = (
    "city", "neighbourhood", "building", "entrance", "floor", "unit",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntranceSpec(Strict):
    name: str | None = None
    floors: int = Field(ge=1, le=60, description="floors above ground, the ground floor included")
    units_per_floor: int = Field(default=4, ge=0, le=9)
    basement: bool = False


class BuildingSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    language: Language = "fr"
    entrances: dict[str, EntranceSpec] = Field(min_length=1)


class NeighbourhoodSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    buildings: list[BuildingSpec] = Field(default_factory=list)


class CitySpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    language: Language = "fr"


class SiteFile(Strict):
    city: CitySpec
    neighbourhoods: list[NeighbourhoodSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PlaceNode:
    id: str
    parent_id: str | None
    kind: PlaceKind
    name: str
    language: Language = "fr"


def _floor_name(floor: int | str, lang: Language) -> str:
    if floor == "basement":
        return "sous-sol" if lang == "fr" else "basement"
    if floor == 0:
        return "rez-de-chaussée" if lang == "fr" else "ground floor"
    if lang == "fr":
        return "1er étage" if floor == 1 else f"{floor}e étage"
    return f"floor {floor}"


def expand_site(site: SiteFile) -> list[PlaceNode]:
    """Every place of the site, parents before children."""
    city = site.city
    nodes = [PlaceNode(city.id, None, "city", city.name, city.language)]
    for hood in site.neighbourhoods:
        nodes.append(PlaceNode(hood.id, city.id, "neighbourhood", hood.name or hood.id,
                               city.language))
        for b in hood.buildings:
            lang = b.language
            nodes.append(PlaceNode(b.id, hood.id, "building", b.name, lang))
            for key, entrance in b.entrances.items():
                e_id = f"{b.id}/{key}"
                e_name = entrance.name or (f"Entrée {key.upper()}" if lang == "fr"
                                           else f"Entrance {key.upper()}")
                nodes.append(PlaceNode(e_id, b.id, "entrance", f"{b.name}, {e_name}", lang))
                floors: list[int | str] = (["basement"] if entrance.basement else [])
                floors += list(range(entrance.floors))
                for floor in floors:
                    f_id = f"{e_id}/{floor}"
                    f_name = f"{b.name}, {e_name}, {_floor_name(floor, lang)}"
                    nodes.append(PlaceNode(f_id, e_id, "floor", f_name, lang))
                    if floor == "basement":
                        continue
                    for n in range(1, entrance.units_per_floor + 1):
                        unit = f"{floor}{n}"
                        label = f"appartement {unit}" if lang == "fr" else f"flat {unit}"
                        nodes.append(PlaceNode(f"{f_id}/{unit}", f_id, "unit",
                                               f"{b.name}, {e_name}, {label}", lang))
    return nodes
