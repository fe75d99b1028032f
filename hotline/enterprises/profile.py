"""An enterprise's profile (issue 12, point 5): its data, its contacts, who covers its building, its own
办结率 and 满意率 over its whole history, the meetings it was invited to and the visits it had.

Who may read it is decided before (:func:`hotline.enterprises.queries.visible_enterprise_by_uscc`: the
liaisons of its building and staff, or the enterprise's own contacts); what a reader sees of it depends on
who it is: an enterprise's contact sees no other contact's login, phone or e-mail, no cancelled meeting and
no liaison's notes of a visit — those are the staff's.  The requests are listed by the page or the API
(:func:`requests_of`, paginated as every list of requests is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select

from hotline.auth.models import Role, User
from hotline.enterprises import queries
from hotline.enterprises.models import Coverage, Enterprise
from hotline.meetings.models import Meeting, MeetingInvitation, Visit
from hotline.meetings.queries import meetings_of_enterprise, visits_of_enterprise
from hotline.stats.own import enterprise_figures
from hotline.stats.queries import Figures
from hotline.tickets import paging
from hotline.tickets import queries as tickets
from hotline.tickets.models import Ticket, TicketState
from hotline.tickets.search import Search

MEETINGS_SHOWN = 50
VISITS_SHOWN = 50


@dataclass(frozen=True)
class Profile:
    enterprise: Enterprise
    staff_view: bool  # read by a liaison or staff (else by one of the enterprise's contacts)
    contacts: list[User]  # its contact accounts (a contact reading: the active ones)
    liaisons: list[Coverage]  # who covers its building now, the primary liaison first
    figures: Figures  # its whole history
    meetings: list[tuple[Meeting, MeetingInvitation]]  # latest first
    visits: list[Visit]  # latest first

    def shows_details_of(self, contact: User, reader: User) -> bool:
        """Whether ``reader`` sees the login, phone and e-mail of ``contact``: staff, or the
        contact itself."""
        return self.staff_view or contact.id == reader.id


def profile_of(enterprise: Enterprise, reader: User, now: datetime) -> Profile:
    """The profile of ``enterprise`` as ``reader`` (who may see it) sees it, at ``now`` (six bounded
    queries: contacts, coverages, the figures' two, meetings, visits)."""
    staff_view = reader.role != Role.ENTERPRISE
    contacts = queries.contacts_of(enterprise.id)
    if not staff_view:
        contacts = [c for c in contacts if c.active]
    return Profile(
        enterprise=enterprise,
        staff_view=staff_view,
        contacts=contacts,
        liaisons=queries.liaisons_of(enterprise.building_id),
        figures=enterprise_figures(enterprise.id, now),
        meetings=meetings_of_enterprise(enterprise.id, include_cancelled=staff_view, limit=MEETINGS_SHOWN),
        visits=visits_of_enterprise(enterprise.id, limit=VISITS_SHOWN),
    )


@dataclass(frozen=True)
class RequestList:
    """The enterprise's requests a reader may see, narrowed to a state and a search: ``query`` (to page
    through with ``parts``), the counts by state for the tabs, and the search's outcome."""

    query: Select[Ticket]
    counts: dict[TicketState, int]
    parts: list[paging.Segment]
    search: Search | None


def requests_of(
    enterprise: Enterprise, reader: User, state: TicketState | None = None, q: str = ""
) -> RequestList:
    """Every request of ``enterprise`` that ``reader`` may see (DESIGN §3: a liaison those of the buildings it
    covers and those assigned to it), newest first, in ``state`` and holding the words of ``q`` when given.
    Counted by state in one GROUP BY over the enterprise's requests (``ix_tickets_enterprise_created``).
    Raises :class:`~hotline.errors.ValidationFailed` on ``q`` for a search that cannot be served."""
    base = tickets.visible_tickets(reader).where(Ticket.enterprise_id == enterprise.id)
    found = tickets.search(base, q) if q else None
    if found is not None and found.terms:
        base = found.query
    counts = tickets.state_counts(base)
    query = base if state is None else base.where(Ticket.state == state)
    return RequestList(query, counts, paging.segments("newest", counts, state), found)
