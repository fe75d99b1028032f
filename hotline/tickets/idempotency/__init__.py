"""Idempotent intake: a request is filed once however often its client sends it (issue 8, point 5).

A client that times out, loses its connection or sees the server die cannot tell whether its request was
filed; if it sends it again, it must not file it twice.  ``POST /api/v1/tickets`` and the batch calls
(``POST /api/v1/meetings/<id>/requests``, ``POST /api/v1/visits``) honour an ``Idempotency-Key`` header
(the IETF httpapi draft's semantics, as Stripe does), and the filing forms carry a one-time token.  Both
live in one table, ``idempotency_keys``, scoped to the user, and the outcome of the first call is stored in
the same transaction as the requests it filed (the key is claimed in that transaction too), so they are
committed together or not at all.  :mod:`.services` holds the rules,
:mod:`.intake` what the views run, :mod:`.tasks` the prune job.
"""
