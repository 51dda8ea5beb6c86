"""The demo market's symbols: well-known US tickers plus generated real-looking ones.

Fixed (independent of the seed) so a symbol means the same thing in every demo session.
The demo's prices and fundamentals are synthetic; only the symbols look familiar.
"""

from __future__ import annotations

WELL_KNOWN: tuple[str, ...] = tuple(
    """
    AAPL MSFT NVDA AMZN GOOGL GOOG META TSLA AVGO BRK.B BRK.A JPM LLY V UNH XOM MA JNJ PG
    HD COST ABBV MRK CVX CRM BAC NFLX AMD PEP KO WMT TMO ADBE LIN ACN MCD CSCO ABT ORCL
    DHR WFC INTC DIS TXN PM CMCSA VZ NEE INTU AMGN IBM QCOM CAT UNP HON SPGI GE AMAT LOW
    BA NKE RTX GS ISRG PFE T BKNG ELV SBUX PLD MS BLK MDT DE SYK GILD ADP LMT TJX MDLZ
    CVS VRTX ADI REGN MMC C AMT LRCX CB SCHW ZTS MO CI BSX ETN PGR SO TMUS BMY SLB FI
    NOC DUK EQIX AON ITW MU CME KLAC SNPS CDNS APD ICE SHW CL PYPL WM CSX USB EOG HUM
    MCK FDX PNC MPC ORLY TGT GD EMR MAR NSC PSX ROP APH MCO AJG PXD MSI ECL CTAS NXPI
    HCA COF AZO TT TDG ADSK VLO AIG TRV F GM SRE MET KMB OXY DXCM WELL PCAR CARR SPG
    MNST PSA ROST AFL IDXX CPRT KHC D HLT O MCHP TEL JCI PAYX ALL DOW AEP CMG FTNT EW
    KDP STZ YUM HES KR MSCI AMP CTVA BIIB GIS NUE FAST EXC DD LULU ODFL CTSH SYY BK
    IQV OTIS EA DLTR DG ANET PANW CRWD SNOW DDOG ZS NET MDB TEAM WDAY NOW SHOP SQ
    COIN HOOD PLTR SOFI UBER LYFT ABNB DASH RBLX U SNAP PINS ROKU ZM DOCU TWLO OKTA
    ETSY EBAY W CHWY PTON BYND MRNA BNTX NVAX ZM SPOT SE BABA JD PDD BIDU NIO XPEV LI
    TSM ASML SAP SONY TM HMC BP SHEL TTE RIO BHP VALE GOLD NEM FCX AA CLF X MT
    DAL UAL AAL LUV JBLU CCL RCL NCLH EXPE TRIP MGM WYNN LVS CZR DKNG PENN
    GME AMC BB NOK SIRI PARA WBD FOXA LYV MTCH IAC TTD APP AFRM UPST MARA RIOT
    MSTR SMCI DELL HPQ HPE WDC STX NTAP PSTG ARM ON MRVL SWKS QRVO TER ENPH SEDG FSLR
    RUN PLUG CHPT LCID RIVN NKLA QS BLNK
    """.split()
)

# Syllables for generated symbols; combinations that collide with WELL_KNOWN are skipped.
_ONSETS = ("B", "C", "D", "F", "G", "K", "L", "M", "N", "P", "R", "S", "T", "V", "Z")
_NUCLEI = ("A", "E", "I", "O", "U", "Y")
_CODAS = ("X", "N", "R", "L", "K", "T", "S", "M")
_AVOID = ("FUK", "FUC", "SEX", "NIG", "CUM", "TIT", "DIK", "FAG", "KK", "NAZ", "COK")


def _generated(count: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    # Walk the syllable grid with co-prime strides so neighbours differ in every letter.
    n_on, n_nu, n_co = len(_ONSETS), len(_NUCLEI), len(_CODAS)
    total = n_on * n_nu * n_co * n_on
    for i in range(total):
        j = (i * 389) % total
        a, rest = j % n_on, j // n_on
        b, rest = rest % n_nu, rest // n_nu
        c, d = rest % n_co, rest // n_co
        sym = _ONSETS[a] + _NUCLEI[b] + _CODAS[c] + (_ONSETS[d] if d % 3 else "")
        if sym not in taken and not any(bad in sym for bad in _AVOID):
            taken.add(sym)
            out.append(sym)
        if len(out) == count:
            break
    return out


def universe(size: int = 500) -> tuple[str, ...]:
    """``size`` distinct symbols: the well-known list first, then generated ones."""
    known = list(dict.fromkeys(WELL_KNOWN))
    if size <= len(known):
        return tuple(known[:size])
    return tuple(known + _generated(size - len(known), set(known)))
