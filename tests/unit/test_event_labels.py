from hotline.tickets.labels import EVENT_LABELS
from hotline.tickets.models import EventKind


def test_every_event_kind_has_a_timeline_label():
    assert set(EVENT_LABELS) == set(EventKind)
