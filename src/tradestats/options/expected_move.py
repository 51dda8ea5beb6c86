"""Market-implied earnings move from the nearest expiry's ATM straddle."""

from __future__ import annotations

from tradestats.market.types import Chain
from tradestats.options.term_structure import nearest_strike


def atm_straddle_mid(chain: Chain, spot: float) -> float | None:
    """``mid(call at K_c) + mid(put at K_p)``, K nearest ``spot`` among two-sided quotes.

    Call and put strikes are chosen independently (as for ATM IV), so a chain missing the
    call or put at the ATM strike still prices. ``None`` if either side has no quote.
    """
    call = nearest_strike(chain.calls, spot, with_mid=True)
    put = nearest_strike(chain.puts, spot, with_mid=True)
    if call is None or put is None or call.mid is None or put.mid is None:
        return None
    return call.mid + put.mid


def expected_move(chain: Chain, spot: float) -> float | None:
    """Expected move as a fraction of spot: ``(call_mid + put_mid) / spot``.

    Pass the NEAREST selected expiry's chain (the one spanning the announcement).
    ``0.052`` means +/-5.2%. ``None`` when the straddle cannot be priced or spot <= 0.
    """
    straddle = atm_straddle_mid(chain, spot)
    if straddle is None or spot <= 0.0:
        return None
    return straddle / spot
