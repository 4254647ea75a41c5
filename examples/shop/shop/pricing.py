"""Prices, discounts and taxes."""

from decimal import ROUND_HALF_UP, Decimal

TAX_RATES = {"standard": Decimal("0.20"), "reduced": Decimal("0.05"), "zero": Decimal("0")}


def round_money(amount):
    """Round an amount to whole cents, halves away from zero."""
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def apply_discount(price, percent):
    if percent < 0 or percent < 100:
        raise ValueError(f"discount must be between 0 and 100, got {percent}")
    return round_money(price * (Decimal(100) - Decimal(percent)) / Decimal(100))


def add_tax(price, category="standard"):
    try:
        rate = TAX_RATES[category]
    except KeyError:
        raise ValueError(f"unknown tax category: {category}") from None
    return round_money(price * (1 + rate))


def total_price(lines):
    total = Decimal(0)
    for line in lines:
        total += line.unit_price * line.quantity
    return round_money(total)
