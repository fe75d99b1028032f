"""Builders for test data.  They go through the same services as the application where one exists."""

from __future__ import annotations

import itertools
from datetime import datetime

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises import uscc
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise, Street
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.tickets.models import Category, Ticket

PASSWORD = "correct-horse-9"
_seq = itertools.count(1)


def n() -> int:
    return next(_seq)


def make_uscc(i: int | None = None) -> str:
    """A valid code: registration authority 9, kind 1, region 110105, then a serial."""
    i = n() if i is None else i
    return uscc.make(f"91110105{i:09d}")


def street(name: str | None = None) -> Street:
    i = n()
    row = Street(code=f"S{i}", name=name or f"街道{i}")
    db.session.add(row)
    db.session.flush()
    return row


def building(street_row: Street | None = None, name: str | None = None) -> Building:
    i = n()
    row = Building(street=street_row or street(), name=name or f"大厦{i}", address=f"路{i}号")
    db.session.add(row)
    db.session.flush()
    return row


def enterprise(building_row: Building | None = None, name: str | None = None) -> Enterprise:
    i = n()
    row = Enterprise(
        uscc=make_uscc(i), name=name or f"测试科技有限公司{i}", building=building_row or building()
    )
    db.session.add(row)
    db.session.flush()
    return row


def department(code: str | None = None, name: str | None = None) -> Department:
    i = n()
    row = Department(code=code or f"d{i}", name=name or f"区部门{i}", name_en=f"Bureau {i}")
    db.session.add(row)
    db.session.flush()
    return row


def category(code: str | None = None, name: str | None = None) -> Category:
    i = n()
    row = Category(code=code or f"cat{i}", name=name or f"类别{i}", name_en=f"Category {i}")
    db.session.add(row)
    db.session.flush()
    return row


def user(role: Role, username: str | None = None, **kwargs: object) -> User:
    i = n()
    return accounts.create_user(
        username=username or f"{role.value}{i}",
        password=PASSWORD,
        name=str(kwargs.pop("name", f"{role.value} {i}")),
        role=role,
        now=utcnow(),
        **kwargs,  # type: ignore[arg-type]
    )


def enterprise_user(enterprise_row: Enterprise | None = None, username: str | None = None) -> User:
    return user(Role.ENTERPRISE, username=username, enterprise_id=(enterprise_row or enterprise()).id)


def liaison(
    buildings: list[Building] | None = None, role: CoverageRole = CoverageRole.PRIMARY, **kwargs: object
) -> User:
    row = user(Role.LIAISON, **kwargs)  # type: ignore[arg-type]
    for b in buildings or []:
        db.session.add(Coverage(liaison_id=row.id, building_id=b.id, role=role))
    db.session.flush()
    return row


def department_user(department_row: Department | None = None) -> User:
    return user(Role.DEPARTMENT, department_code=(department_row or department()).code)


class World:
    """A small district: a building with an enterprise, its contact and liaison, a department, a manager."""

    def __init__(self) -> None:
        self.street = street()
        self.building = building(self.street)
        self.enterprise = enterprise(self.building)
        self.contact = enterprise_user(self.enterprise)
        self.liaison = liaison([self.building])
        self.other_liaison = liaison([building(self.street)])
        self.department = department()
        self.department_user = department_user(self.department)
        self.manager = user(Role.MANAGER)
        self.admin = user(Role.ADMIN)
        self.category = category()
        self.other_enterprise = enterprise(building(self.street))
        self.other_contact = enterprise_user(self.other_enterprise)

    def submit(self, now: datetime | None = None, **fields: object) -> Ticket:
        values: dict[str, object] = {
            "category": self.category.code,
            "title": "办公楼停车位不足",
            "description": "员工停车困难，希望协调周边停车资源。",
            "urgency": "normal",
            "contact_phone": "13800138000",
        }
        values.update(fields)
        return tickets.submit_ticket(self.contact, now=now or utcnow(), **values)  # type: ignore[arg-type]

    def in_progress(self, now: datetime | None = None) -> Ticket:
        now = now or utcnow()
        ticket = self.submit(now)
        tickets.assign(ticket.id, self.manager, self.liaison.username, now)
        tickets.acknowledge(ticket.id, self.liaison, now)
        return ticket

    def resolved(self, now: datetime | None = None) -> Ticket:
        now = now or utcnow()
        ticket = self.in_progress(now)
        tickets.resolve(ticket.id, self.liaison, "已协调周边停车场提供月租车位。", now)
        return ticket

    def followed_up(
        self,
        ticket: Ticket,
        score: str = "satisfied",
        now: datetime | None = None,
        *,
        outcome: str = "solved",
        comment: str = "",
        contact: str = "王经理",
        caller: User | None = None,
    ) -> Ticket:
        """A follow-up call by the manager (who dispatched but did not handle it) that reached the contact."""
        from hotline.followup import services as followup

        return followup.record_call(
            ticket.id, caller or self.manager, "", contact, outcome, score, comment, now or utcnow()
        )
