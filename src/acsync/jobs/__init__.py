"""Use cases: each takes its collaborators (store, ruleset) and the instant it runs at."""
