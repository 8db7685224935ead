"""Maker income: the ledger, statements, payouts, commission, stalls and their tills, and
the impact report. The shop writes to the ledger when money moves; everything a maker,
a workshop or an operator reads about earnings lives here."""
