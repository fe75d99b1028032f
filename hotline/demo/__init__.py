"""Demo data (``flask seed-demo``): a small district with a year of requests.

Everything is drawn from ``random.Random`` streams with fixed seeds, so two runs build the same district
(the same requests, a day older if run a day later).  The reference data (:mod:`hotline.demo.data`: streets,
buildings, users …) is written directly; every request is played (:mod:`hotline.demo.seeder`) through the
real lifecycle services in :mod:`hotline.tickets.services`, step by step with increasing ``now`` values in
working time, so that the timelines, numbers and figures are exactly what the application itself would
produce.  Requests are played in the order they were filed; a step that would fall after "now" is not
played, which is what leaves the recent requests open.
"""

from hotline.demo.data import PASSWORD
from hotline.demo.seeder import seed_demo

__all__ = ["PASSWORD", "seed_demo"]
