"""Who may see or act on the gateway's side of a building: its installers and managers."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.config.installation import Installation
from social.models import Member, Membership
from social.visibility import MANAGER_ROLES, current_membership

INSTALLER_ROLES = frozenset({"installer", "admin"})


@dataclass(frozen=True)
class Staff:
    """The buildings a member installs or manages, and whether they are an installer."""

    buildings: frozenset[str]
    installer: bool
    admin: bool

    def covers(self, installation: Installation, place_id: str) -> bool:
        return self.admin or installation.building_of(place_id) in self.buildings


def staff_of(session: Session, member: Member, installation: Installation) -> Staff:
    """The caller's staff rights; 403 with a clear message for anyone else."""
    rows = session.execute(
        select(Membership.place_id, Membership.role).where(
            Membership.member_id == member.id, current_membership()
        )
    ).all()
    roles = [(place, role) for place, role in rows
             if role in INSTALLER_ROLES or role in MANAGER_ROLES]
    if not roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "this is for the installers and managers of a building")
    buildings = frozenset(b for place, _ in roles if (b := installation.building_of(place)))
    return Staff(
        buildings=buildings,
        installer=any(role in INSTALLER_ROLES for _, role in roles),
        admin=any(role == "admin" for _, role in roles),
    )


def require_installer(session: Session, member: Member, installation: Installation,
                      what: str) -> Staff:
    """The caller's staff rights when they install a building (or administer the site);
    403 saying ``what`` is for installers and admins otherwise."""
    staff = staff_of(session, member, installation)
    if not staff.installer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{what} is for installers and admins")
    return staff
