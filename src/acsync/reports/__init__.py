"""Read-only reports over the local database."""
