"""A faithful fake ActiveCampaign: the demo, the tests and the benchmarks run against it.

``Sandbox`` holds a seeded account and answers the v3 endpoints acsync uses with AC's quirks
(string ids, ``meta.total`` as a string, zero dates, both 404 shapes, asynchronous bulk import,
the 5 requests/s limit answered with 429 + Retry-After, a wrong key answered with a login page).
Use it in-process (``Sandbox.session()``) or over HTTP on 127.0.0.1 (``serve``).
"""

from acsync.sandbox.app import Sandbox
from acsync.sandbox.faults import Faults
from acsync.sandbox.state import Account, seed_account

__all__ = ["Account", "Faults", "Sandbox", "seed_account"]
