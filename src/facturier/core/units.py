"""Units of measure for invoice lines: UN/ECE Recommendation 20 codes (EN 16931 BT-130).

Only the units a subscription or services business uses are listed, so that the unit menu
stays short; every code here is a valid Rec 20 code.

>>> check_unit("HUR"), unit_label("HUR"), unit_label("HUR", locale="en")
('HUR', 'heure', 'hour')
"""

from __future__ import annotations

DEFAULT_UNIT = "C62"  # "one": the neutral unit when nothing better fits

UNITS: dict[str, tuple[str, str]] = {
    "C62": ("unité", "unit"),
    "H87": ("pièce", "piece"),
    "SET": ("lot", "set"),
    "LS": ("forfait", "lump sum"),
    "MIN": ("minute", "minute"),
    "HUR": ("heure", "hour"),
    "DAY": ("jour", "day"),
    "E49": ("jour ouvré", "working day"),
    "WEE": ("semaine", "week"),
    "MON": ("mois", "month"),
    "QAN": ("trimestre", "quarter"),
    "SAN": ("semestre", "half-year"),
    "ANN": ("an", "year"),
    "GRM": ("gramme", "gram"),
    "KGM": ("kilogramme", "kilogram"),
    "TNE": ("tonne", "tonne"),
    "MTR": ("mètre", "metre"),
    "KMT": ("kilomètre", "kilometre"),
    "MTK": ("mètre carré", "square metre"),
    "MTQ": ("mètre cube", "cubic metre"),
    "LTR": ("litre", "litre"),
    "KWH": ("kilowattheure", "kilowatt hour"),
    "4L": ("mégaoctet", "megabyte"),
    "E34": ("gigaoctet", "gigabyte"),
    "E35": ("téraoctet", "terabyte"),
}


def check_unit(code: str) -> str:
    """Return the code if it is a known unit.

    >>> check_unit("XYZ")
    Traceback (most recent call last):
    ...
    ValueError: unknown unit code: 'XYZ'
    """
    if code not in UNITS:
        raise ValueError(f"unknown unit code: {code!r}")
    return code


def unit_label(code: str, *, locale: str = "fr") -> str:
    """Label of a unit in French ("fr…") or English (any other locale).

    >>> unit_label("LS")
    'forfait'
    """
    label_fr, label_en = UNITS[check_unit(code)]
    return label_fr if locale.lower().startswith("fr") else label_en
