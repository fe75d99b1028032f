"""Import every model so that the metadata (and Alembic's autogenerate) sees all tables."""

from hotline.attachments.models import Attachment
from hotline.audit.models import AuditEntry
from hotline.auth.models import ApiToken, LoginSession, PasswordReset, Role, User
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise, Street
from hotline.followup.models import FollowupCall
from hotline.imports.models import ImportFile, ImportKind
from hotline.kb.models import KbArticle, KbDeflection
from hotline.meetings.models import (
    Meeting,
    MeetingBuilding,
    MeetingDepartment,
    MeetingInvitation,
    MeetingQuestion,
    TicketOrigin,
    Visit,
)
from hotline.merge.models import TicketLink
from hotline.notifications.models import Notification, NotificationKind
from hotline.ops.models import Heartbeat, TaskCount
from hotline.outbox.models import OutboxMessage
from hotline.replies.models import ReplyTemplate
from hotline.reports.models import FrozenReport
from hotline.sla.models import CalendarDay, ClockAlert, ClockSchedule, Extension, Setting
from hotline.stats.models import StatsCell
from hotline.tickets.idempotency.models import IdempotencyKey
from hotline.tickets.models import Category, Rating, Ticket, TicketCounter, TicketEvent

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "Building",
    "CalendarDay",
    "Category",
    "ClockAlert",
    "ClockSchedule",
    "Coverage",
    "CoverageRole",
    "Department",
    "Enterprise",
    "Extension",
    "FollowupCall",
    "FrozenReport",
    "Heartbeat",
    "IdempotencyKey",
    "ImportFile",
    "ImportKind",
    "KbArticle",
    "KbDeflection",
    "LoginSession",
    "Meeting",
    "MeetingBuilding",
    "MeetingDepartment",
    "MeetingInvitation",
    "MeetingQuestion",
    "Notification",
    "NotificationKind",
    "OutboxMessage",
    "PasswordReset",
    "Rating",
    "ReplyTemplate",
    "Role",
    "Setting",
    "StatsCell",
    "Street",
    "TaskCount",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketLink",
    "TicketOrigin",
    "User",
    "Visit",
]
