from hotline.tickets.models import TicketState


def test_submit_and_resolve(world):
    ticket = world.resolved()
    assert ticket.state == TicketState.RESOLVED
    assert ticket.number.startswith("QH")
    assert [e.kind.value for e in ticket.events] == ["submitted", "assigned", "acknowledged", "resolved"]
