"""One Hypothesis state machine over the whole pipeline, as the daemon runs it.

The sandbox changes (site visits, orders, tags), webhooks arrive 0, 1 or 2 times, faults come
and go, the clock advances, and sync / ingest / score / push run in any order, failing when
the faults say so. Invariants: no event is ever awarded twice, and after a fault-free cycle the
sandbox holds exactly the local desired state.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from acsync.ac.errors import AcError
from acsync.core.timefmt import iso
from acsync.jobs.inbox import ingest_inbox
from acsync.jobs.pull import backfill, sync
from acsync.jobs.push import push
from acsync.jobs.score import score
from acsync.jobs.setup import setup
from acsync.sandbox.state import tracking_record
from acsync.sandbox.webhooks import FORM, webhook_bodies
from acsync.store import Store
from acsync.store.outbox import retry_dead
from tests.sandbox_helpers import NOW, sandbox_and_client
from tests.test_push import World, example_settings

FAULTS = ("429", "503", "500", "timeout", "403", "bulk_item")


class Pipeline(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="acsync-machine-"))
        self.store = Store.open(self.dir / "m.db")
        self.sb, self.client, self.clock = sandbox_and_client(25, rate=None, max_attempts=3)
        self.now = NOW
        self.settings = example_settings(bulk_from=5, batch_size=10, poll_timeout=30)
        setup(self.store, self.client, self.settings, dry_run=False)
        backfill(self.store, self.client, self.now)
        self.seed = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the world moves -----------------------------------------------------------------------
    @rule(contact=st.integers(1, 25), what=st.sampled_from(["visit", "order", "tag"]))
    def activity_in_ac(self, contact: int, what: str) -> None:
        acct = self.sb.account
        with acct.lock:
            if what == "visit":
                log = tracking_record(
                    acct.next_id("trackingLog"),
                    contact,
                    "prospect",
                    "https://www.example.com/pricing",
                    acct.now,
                )
                acct.tracking_logs.setdefault(contact, []).append(log)
            elif what == "order":
                acct.add_order(acct.contacts[contact]["email"], 4900, acct.now)
            else:
                tag = acct.tag_named("Webinar attendee") or acct.create_tag("Webinar attendee")
                acct.add_tag_to(contact, int(tag["id"]))
            acct.touch(contact)

    @rule(days=st.integers(1, 45))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)
        self.sb.account.now = self.now
        self.clock.sleep(days * 86400.0)

    @rule(count=st.integers(1, 6), copies=st.sampled_from([0, 1, 2]))
    def webhooks_arrive(self, count: int, copies: int) -> None:
        self.seed += 1
        with self.sb.account.lock:
            bodies = webhook_bodies(self.sb.account, count, self.seed)
        with self.store.write() as conn:
            for body in bodies:
                for _ in range(copies):
                    conn.execute(
                        "INSERT INTO inbox (received_at, content_type, body) VALUES (?, ?, ?)",
                        [iso(self.now), FORM, body.encode()],
                    )

    @rule(kind=st.sampled_from(FAULTS), rate=st.sampled_from([0.0, 0.1, 0.3]))
    def faults(self, kind: str, rate: float) -> None:
        self.sb.faults.set(kind, rate=rate)

    # --- the jobs, any order ---------------------------------------------------------------------
    @rule(job=st.sampled_from(["sync", "ingest", "score", "push"]))
    def run(self, job: str) -> None:
        with contextlib.suppress(AcError):  # the daemon logs it, and the next run happens
            self._job(job)

    def _job(self, job: str) -> None:
        if job == "sync":
            sync(self.store, self.client, self.now)
        elif job == "ingest":
            ingest_inbox(self.store, self.now)
        elif job == "score":
            score(self.store, self.settings.ruleset(), self.settings.fingerprints(), self.now)
        else:
            push(
                self.store,
                self.client,
                self.settings.push,
                self.now,
                sleep=self.clock.sleep,
                clock=self.clock,
            )

    @rule()
    def fault_free_cycle(self) -> None:
        self.sb.faults.clear()
        for job in ("sync", "ingest", "score"):
            self._job(job)
        with self.store.write() as conn:
            retry_dead(conn)  # what failed under faults is due again
        for _ in range(4):
            self._job("push")
            if not self.world().pending():
                break
        world = self.world()
        assert world.pending() == 0
        assert world.actual_in_ac() == world.desired_in_ac()

    # --- always ----------------------------------------------------------------------------------
    @invariant()
    def no_event_awarded_twice(self) -> None:
        twice = self.store.conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM ledger WHERE kind = 'award' "
            "GROUP BY contact, ref, score, rule HAVING count(*) > 1)"
        ).fetchone()[0]
        assert twice == 0

    def world(self) -> World:
        w = World.__new__(World)
        w.store, w.sb, w.settings = self.store, self.sb, self.settings
        return w


Pipeline.TestCase.settings = settings(max_examples=25, stateful_step_count=12)
test_pipeline = Pipeline.TestCase
