"""Phone numbers as texts need them: E.164, parsed and judged by ``phonenumbers``."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from workflow.core.errors import ValidationError

# Types a text can reach. North American numbers are FIXED_LINE_OR_MOBILE: the plan does
# not say which, and the provider finds out; a number known to be a landline, toll-free,
# premium-rate or a pager is refused here.
_TEXTABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
                       PhoneNumberType.VOIP, PhoneNumberType.PERSONAL_NUMBER})


def e164(text: str, region: str = "US") -> str:
    """``text`` as an E.164 number that can take texts, or a one-line ValidationError."""
    try:
        parsed = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationError("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError("not a valid phone number")
    if phonenumbers.number_type(parsed) not in _TEXTABLE:
        raise ValidationError("not a mobile number: it cannot take text messages")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def masked(number: str) -> str:
    """A number as pages may show it to staff who do not need all of it: +1•••••••0100."""
    return number[:2] + "•" * max(len(number) - 6, 0) + number[-4:]
