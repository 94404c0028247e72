"""The pure core: events, rules, ledger arithmetic and scores. No I/O, no clocks.

Everything time-dependent takes the instant as an argument.
"""
