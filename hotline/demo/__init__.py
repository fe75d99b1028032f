"""Demo data (``flask seed-demo``): a small district with a year of requests.

Everything is drawn from ``random.Random`` streams with fixed seeds, so two runs build the same district
(the same requests, a day older if run a day later).  The reference data (:mod:`hotline.demo.data`: streets,
buildings, users …) is written directly; the year is played (:mod:`hotline.demo.seeder`) on one timeline, in
the order things happened, through the real services: the lifecycle in :mod:`hotline.tickets.services`, the
routing worker's :func:`hotline.routing.services.route_ticket`, the clock sweep, extensions and leave, each
called with the historical ``now``, so that the timelines, alerts, numbers and figures are exactly what the
application itself would produce.  A step that would fall after "now" is not played, which is what leaves
the recent requests open.
"""

from hotline.demo.data import PASSWORD
from hotline.demo.seeder import seed_demo

__all__ = ["PASSWORD", "seed_demo"]
