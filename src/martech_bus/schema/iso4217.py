"""ISO 4217 currency codes and their minor units (decimal places).

Active codes as of the 2025 amendments (ANG/XCG, ZWG, VED, SLE included; funds
and precious metals without a minor unit are excluded on purpose: a shopper
cannot pay in them, so an event carrying one is a mistake).
"""

from __future__ import annotations

from typing import Final

from martech_bus.errors import ValidationError

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UZS VED VES "
    "WST XCD XCG YER ZAR ZMW ZWG"
)

MINOR_UNITS: Final[dict[str, int]] = {
    code: digits
    for codes, digits in ((_ZERO, 0), (_TWO, 2), (_THREE, 3), (_FOUR, 4))
    for code in codes.split()
}


def is_currency(code: object) -> bool:
    """True for an active ISO 4217 code (upper case, e.g. ``EUR``)."""
    return isinstance(code, str) and code in MINOR_UNITS


def minor_units(code: str) -> int:
    """Decimal places of ``code``'s minor unit (EUR 2, JPY 0, KWD 3)."""
    try:
        return MINOR_UNITS[code]
    except KeyError:
        raise ValidationError(f"{code!r} is not an ISO 4217 currency code") from None
