"""Named migrations. Never edit an applied one: add a new one below it."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("acsync")


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            ac_id TEXT UNIQUE,              -- the ActiveCampaign contact id, once known
            email TEXT,                     -- lower-cased
            created_at TEXT,                -- when AC created it (UTC), when known
            dirty INTEGER NOT NULL DEFAULT 1,   -- > 0: its ledger must be rebuilt (a generation)
            next_change_at TEXT             -- when its scores or tags next change by themselves
        );
        CREATE INDEX contacts_email ON contacts(email);
        CREATE INDEX contacts_dirty ON contacts(dirty) WHERE dirty > 0;
        CREATE INDEX contacts_next_change ON contacts(next_change_at);

        CREATE TABLE events (
            contact INTEGER NOT NULL REFERENCES contacts(id),
            at TEXT NOT NULL,
            key TEXT NOT NULL,
            type TEXT NOT NULL,
            campaign TEXT, url TEXT, tag TEXT, form TEXT, list TEXT, name TEXT, value REAL,
            source TEXT NOT NULL,           -- file, webhook, api, ...
            received_at TEXT NOT NULL,
            PRIMARY KEY (contact, at, key)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX events_key ON events(key);
        CREATE INDEX events_type_at ON events(type, at);

        CREATE TABLE ledger (
            contact INTEGER NOT NULL,
            score TEXT NOT NULL,
            rule TEXT NOT NULL,
            ref TEXT NOT NULL,              -- the event's key (awards), or "episode" (inactivity)
            kind TEXT NOT NULL,             -- award, penalty, reset, flag
            points REAL NOT NULL,
            awarded_at TEXT NOT NULL,
            expires_at TEXT,                -- counts on [awarded_at, expires_at)
            half_life REAL,                 -- seconds
            tag TEXT,
            ends_at TEXT,                   -- an inactivity episode's end
            PRIMARY KEY (contact, ref, score, rule, awarded_at)  -- (contact, ref): an event's awards
        ) WITHOUT ROWID;

        CREATE TABLE scores (
            contact INTEGER NOT NULL,
            score TEXT NOT NULL,
            value REAL NOT NULL,            -- clamped, before rounding
            rounded INTEGER NOT NULL,       -- what AC gets and reports show
            segment TEXT,
            changed_at TEXT NOT NULL,       -- when `rounded` last changed
            PRIMARY KEY (contact, score)
        ) WITHOUT ROWID;
        CREATE INDEX scores_rank ON scores(score, rounded);

        CREATE TABLE score_history (
            id INTEGER PRIMARY KEY,
            contact INTEGER NOT NULL,
            score TEXT NOT NULL,
            at TEXT NOT NULL,
            value INTEGER NOT NULL
        );
        CREATE INDEX score_history_contact ON score_history(contact, score, at);

        CREATE TABLE tag_state (
            contact INTEGER NOT NULL,
            tag TEXT NOT NULL,              -- a row means: acsync wants this tag on the contact
            since TEXT NOT NULL,
            reasons TEXT NOT NULL,          -- the rules that want it, comma-separated
            PRIMARY KEY (contact, tag)
        ) WITHOUT ROWID;

        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )


@migrations(name="0002_inbox")
def inbox(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            received_at TEXT NOT NULL,
            content_type TEXT NOT NULL,
            body BLOB NOT NULL,             -- the raw body, exactly as AC posted it
            status TEXT NOT NULL DEFAULT 'new',  -- new, ingested, ignored, unknown, rejected
            type TEXT,                      -- AC's webhook type, once decoded
            reason TEXT,                    -- why it was rejected
            processed_at TEXT
        );
        CREATE INDEX inbox_new ON inbox(id) WHERE status = 'new';
        """
    )


@migrations(name="0003_cursors")
def cursors(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,          -- e.g. backfill:contacts, sync:updated_after
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )


@migrations(name="0004_ac_ids")
def ac_ids(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE ac_ids (
            kind TEXT NOT NULL,             -- field or tag
            name TEXT NOT NULL,             -- the field's title or the tag's name in AC
            ac_id TEXT NOT NULL,
            PRIMARY KEY (kind, name)
        ) WITHOUT ROWID;
        """
    )


@migrations(name="0005_push")
def push(db: Database) -> None:
    db.executescript(
        """
        ALTER TABLE contacts ADD COLUMN seen_in_ac_at TEXT;     -- last time AC showed it exists
        ALTER TABLE contacts ADD COLUMN deleted_in_ac_at TEXT;  -- when AC answered 404 for it

        CREATE TABLE ac_state (             -- what AC holds, as far as acsync knows
            contact INTEGER NOT NULL,
            kind TEXT NOT NULL,             -- field or tag
            name TEXT NOT NULL,             -- the field's title or the tag's name
            value TEXT NOT NULL,            -- a field's value; "add" for a tag the contact holds
            contact_tag TEXT,               -- a tag's contactTag id in AC, when known
            written_at TEXT NOT NULL,
            PRIMARY KEY (contact, kind, name)
        ) WITHOUT ROWID;

        CREATE TABLE outbox (               -- desired AC state minus ac_state: what push must write
            contact INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,            -- a field's value, or "add" / "remove" for a tag
            queued_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,           -- not before (after a failure)
            sent_value TEXT,                -- the value of a write that may have reached AC
            batch TEXT,                     -- the bulk import carrying sent_value, until it completes
            last_error TEXT,
            dead INTEGER NOT NULL DEFAULT 0,  -- 1: gave up; `acsync outbox --retry` revives it
            PRIMARY KEY (contact, kind, name)
        ) WITHOUT ROWID;
        CREATE INDEX outbox_due ON outbox(dead, next_attempt_at);
        """
    )


@migrations(name="0006_score_steps")
def score_steps(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE score_steps (          -- each score's rounded value over all time, from the ledger
            contact INTEGER NOT NULL,
            score TEXT NOT NULL,
            at TEXT NOT NULL,               -- from this instant on ...
            value INTEGER NOT NULL,         -- ... the score is this (until the next step)
            PRIMARY KEY (contact, score, at)
        ) WITHOUT ROWID;
        UPDATE contacts SET dirty = 1;      -- rebuild every ledger once, to fill it
        """
    )


@migrations(name="0007_push_safety")
def push_safety(db: Database) -> None:
    db.executescript(
        """
        -- A row with sent_value and no batch when a push starts is a write whose answer was lost
        -- (a read timeout, a dropped connection, a killed process): AC may hold it. The next push
        -- looks in AC before sending it again.
        ALTER TABLE outbox ADD COLUMN sent_at TEXT;     -- when the write of sent_value left
        ALTER TABLE outbox ADD COLUMN sent_bulk INTEGER NOT NULL DEFAULT 0;  -- 1: in a bulk import
        """
    )


@migrations(name="0012_poison")
def event_identity_by_name(db: Database) -> None:
    # A tracked event's derived identity gained its name (two events in one second are two):
    # re-key the stored ones as `event|contact|name|instant`, so a re-pull finds them, and
    # rebuild those contacts' ledgers (their awards refer to the event's key).
    db.executescript(
        """
        CREATE TEMP TABLE rekeyed AS
            SELECT key AS old, 'event|' || substr(key, 7, length(key) - 7 - length(at)) || '|'
                   || coalesce(name, '') || '|' || at AS new, contact
            FROM events
            WHERE type = 'event' AND key LIKE 'event|%|' || at AND length(key) > 7 + length(at);
        UPDATE OR IGNORE events SET key = (SELECT new FROM rekeyed WHERE old = events.key)
            WHERE key IN (SELECT old FROM rekeyed);
        UPDATE contacts SET dirty = dirty + 1 WHERE id IN (SELECT contact FROM rekeyed);
        DROP TABLE rekeyed;
        """
    )


@migrations(name="0008_sources")
def sources(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE pull_sources (         -- where each pull phase reads from, chosen by probing
            phase TEXT PRIMARY KEY,         -- opens, clicks, tracking, orders
            source TEXT NOT NULL,           -- e.g. v3-report, linkdata, per-contact
            detail TEXT NOT NULL,           -- the endpoint it reads
            reason TEXT NOT NULL,           -- why (what the probe saw)
            probed_at TEXT NOT NULL
        ) WITHOUT ROWID;
        ALTER TABLE contacts ADD COLUMN ac_udate TEXT;         -- AC's udate when last pulled
        ALTER TABLE contacts ADD COLUMN own_write_from TEXT;   -- acsync's last write to it in AC
        ALTER TABLE contacts ADD COLUMN own_write_until TEXT;  -- (the udate it causes lies within)
        ALTER TABLE events ADD COLUMN bot TEXT;                -- a click: yes (AC says a bot's), no
        """
    )
