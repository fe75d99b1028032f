from hotline.tickets.models import EventKind
from hotline.tickets.views import EVENT_LABELS


def test_every_event_kind_has_a_timeline_label():
    assert set(EVENT_LABELS) == set(EventKind)
