"""acsync: lead scoring for ActiveCampaign, kept in a local SQLite ledger."""

__version__ = "0.1.0"
