"""Pure options analytics for the earnings volatility screen (no I/O, no frameworks).

Modules: ``expirations`` (which expiries count), ``term_structure`` (ATM IV, IV30,
slope), ``volatility`` (Yang-Zhang RV30, average volume), ``expected_move``,
``verdict``, ``calendar_spread`` (ticket), ``earnings_history`` (past moves) and
``analysis`` (the composition over a ``MarketData`` provider).
"""
