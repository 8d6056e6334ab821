"""Amounts of money: integer cents inside, dollars as staff write and read them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_amount(text: str) -> int:
    """Dollars as staff write them (``1500``, ``$1,500.00``) → integer cents."""
    cleaned = text.strip().removeprefix("$").replace(",", "").strip()
    try:
        dollars = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("not an amount of dollars") from None
    if not dollars.is_finite() or dollars < 0:
        raise ValueError("not an amount of dollars")
    # Before quantize: quantizing 1e30 to cents overflows the context and raises InvalidOperation.
    if dollars > 10_000_000:
        raise ValueError("is implausibly large")
    if dollars != dollars.quantize(Decimal("0.01")):
        raise ValueError("not an amount of dollars")
    return int(dollars * 100)


def dollars(cents: int) -> str:
    """``$1,500.00``; a balance owed back is ``-$25.00``."""
    return f"-${-cents / 100:,.2f}" if cents < 0 else f"${cents / 100:,.2f}"
