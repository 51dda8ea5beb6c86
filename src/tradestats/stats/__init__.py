"""Pure statistics: round trips and daily P&L -> metrics (no Flask, no SQL)."""
