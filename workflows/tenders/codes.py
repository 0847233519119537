"""Code lists the notices use: EU three-letter languages and countries to ISO two-letter."""

from __future__ import annotations

__all__ = ["country2", "language2"]

# The EU's 24 official languages, as eForms writes them (EU "language" authority table).
_LANGUAGES = {
    "BUL": "bg", "CES": "cs", "DAN": "da", "DEU": "de", "ELL": "el", "ENG": "en", "EST": "et",
    "FIN": "fi", "FRA": "fr", "GLE": "ga", "HRV": "hr", "HUN": "hu", "ITA": "it", "LAV": "lv",
    "LIT": "lt", "MLT": "mt", "NLD": "nl", "POL": "pl", "POR": "pt", "RON": "ro", "SLK": "sk",
    "SLV": "sl", "SPA": "es", "SWE": "sv", "NOR": "no", "ISL": "is",
}  # fmt: skip

# ISO 3166-1 alpha-3 to alpha-2 for the countries that publish on TED (EU, EEA, candidates,
# GPA partners that show up as buyers or places of performance).
_COUNTRIES = {
    "AUT": "AT", "BEL": "BE", "BGR": "BG", "HRV": "HR", "CYP": "CY", "CZE": "CZ", "DNK": "DK",
    "EST": "EE", "FIN": "FI", "FRA": "FR", "DEU": "DE", "GRC": "GR", "HUN": "HU", "IRL": "IE",
    "ITA": "IT", "LVA": "LV", "LTU": "LT", "LUX": "LU", "MLT": "MT", "NLD": "NL", "POL": "PL",
    "PRT": "PT", "ROU": "RO", "SVK": "SK", "SVN": "SI", "ESP": "ES", "SWE": "SE", "ISL": "IS",
    "LIE": "LI", "NOR": "NO", "CHE": "CH", "GBR": "GB", "ALB": "AL", "BIH": "BA", "MKD": "MK",
    "MNE": "ME", "SRB": "RS", "TUR": "TR", "UKR": "UA", "MDA": "MD", "GEO": "GE", "USA": "US",
    "CAN": "CA", "MCO": "MC", "AND": "AD", "SMR": "SM", "XKX": "XK", "ARM": "AM",
}  # fmt: skip


def language2(code: str | None) -> str | None:
    """ISO 639-1 for an eForms language code (``FRA`` -> ``fr``); two-letter codes pass."""
    if not code:
        return None
    code = code.strip()
    if len(code) == 2:
        return code.lower()
    return _LANGUAGES.get(code.upper())


def country2(code: str | None) -> str | None:
    """ISO 3166-1 alpha-2 for an alpha-3 code (``FRA`` -> ``FR``); two-letter codes pass."""
    if not code:
        return None
    code = code.strip().upper()
    if len(code) == 2:
        return code
    return _COUNTRIES.get(code)
