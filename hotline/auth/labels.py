"""What each role is called on the pages (the header's badge, the admin's lists)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from hotline.auth.models import Role

ROLE_LABELS: dict[Role, LazyString] = {
    Role.ENTERPRISE: _l("Enterprise"),
    Role.LIAISON: _l("Liaison"),
    Role.DEPARTMENT: _l("Department"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Administrator"),
}


def role_label(role: Role) -> str:
    """The role's name in the current language."""
    return str(ROLE_LABELS[role])
