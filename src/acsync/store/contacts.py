"""Contacts: an AC id, an e-mail, or both, resolved to one local row.

An event with only an e-mail belongs to the contact with that e-mail (case-insensitive); once
AC reveals the id behind an e-mail, they are one contact. A contact's e-mail can change in AC;
its id does not.
"""

from __future__ import annotations

import sqlite3


class Contacts:
    """Resolves (ac_id, email) to the local contact id, creating and merging rows.

    Caches lookups for the life of one batch; use inside the batch's transaction.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._by_ac: dict[str, int] = {}
        self._by_email: dict[str, int] = {}

    def _lookup(self, column: str, value: str, cache: dict[str, int]) -> int | None:
        hit = cache.get(value)
        if hit is not None:
            return hit
        row = self.conn.execute(f"SELECT id FROM contacts WHERE {column} = ?", [value]).fetchone()
        if row is None:
            return None
        cache[value] = int(row[0])
        return int(row[0])

    def _ac_id_of(self, contact: int) -> str | None:
        row = self.conn.execute("SELECT ac_id FROM contacts WHERE id = ?", [contact]).fetchone()
        return None if row is None else row[0]

    def resolve(self, ac_id: str | None, email: str | None, created_at: str | None = None) -> int:
        if ac_id is None and email is None:
            raise ValueError("a contact needs an AC id or an e-mail")
        by_ac = self._lookup("ac_id", ac_id, self._by_ac) if ac_id else None
        by_email = self._lookup("email", email, self._by_email) if email else None
        if by_ac is None and by_email is None:
            contact = self._insert(ac_id, email)
        elif by_ac is None:
            assert by_email is not None
            owner = self._ac_id_of(by_email)
            if ac_id is None or owner is None:
                contact = by_email
                if ac_id is not None:  # AC revealed the id behind this e-mail
                    self.conn.execute("UPDATE contacts SET ac_id = ? WHERE id = ?", [ac_id, contact])
                    self._by_ac[ac_id] = contact
            else:  # the e-mail now belongs to another AC contact
                self._release_email(by_email)
                contact = self._insert(ac_id, email)
        elif by_email is None or by_email == by_ac:
            contact = by_ac
            if email is not None and by_email is None:
                self._set_email(contact, email)
        else:
            contact = by_ac
            if self._ac_id_of(by_email) is None:
                self._merge(by_email, into=contact)
            else:
                self._release_email(by_email)
            assert email is not None
            self._set_email(contact, email)
        if created_at is not None:
            self.conn.execute(
                "UPDATE contacts SET created_at = ?, dirty = dirty + 1 WHERE id = ? AND created_at IS NOT ?",
                [created_at, contact, created_at],
            )
        return contact

    def _insert(self, ac_id: str | None, email: str | None) -> int:
        cur = self.conn.execute("INSERT INTO contacts (ac_id, email, dirty) VALUES (?, ?, 1)", [ac_id, email])
        contact = int(cur.lastrowid or 0)
        if ac_id:
            self._by_ac[ac_id] = contact
        if email:
            self._by_email[email] = contact
        return contact

    def _set_email(self, contact: int, email: str) -> None:
        old = self.conn.execute("SELECT email FROM contacts WHERE id = ?", [contact]).fetchone()
        if old is not None and old[0]:
            self._by_email.pop(old[0], None)
        self.conn.execute("UPDATE contacts SET email = ? WHERE id = ?", [email, contact])
        self._by_email[email] = contact

    def _release_email(self, contact: int) -> None:
        row = self.conn.execute("SELECT email FROM contacts WHERE id = ?", [contact]).fetchone()
        if row is not None and row[0]:
            self._by_email.pop(row[0], None)
        self.conn.execute("UPDATE contacts SET email = NULL WHERE id = ?", [contact])

    def _merge(self, source: int, into: int) -> None:
        """Fold an e-mail-only contact into the AC contact it turned out to be."""
        self.conn.execute("UPDATE OR IGNORE events SET contact = ? WHERE contact = ?", [into, source])
        self.conn.execute("DELETE FROM events WHERE contact = ?", [source])
        for table in ("ledger", "scores", "score_history", "tag_state"):
            self.conn.execute(f"DELETE FROM {table} WHERE contact = ?", [source])
        self.conn.execute("DELETE FROM contacts WHERE id = ?", [source])
        self.conn.execute("UPDATE contacts SET dirty = dirty + 1 WHERE id = ?", [into])
        self._by_email = {k: v for k, v in self._by_email.items() if v != source}
