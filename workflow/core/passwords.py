"""What makes a password acceptable, as NIST SP 800-63B asks: long enough, not easy to guess.

No composition rules (a digit, a capital): length and a strength estimate instead.
zxcvbn knows the common and breached passwords, keyboard rows, repeats and sequences
(`aaaaaaaaaaaa`, `123456789012`); the e-mail is refused as a password's substance too.
The password itself never appears in a message.
"""

from __future__ import annotations

import re

from workflow.core.errors import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 1024
# zxcvbn's score: 3 is "safely unguessable" against an offline attack on a slow hash.
MIN_SCORE = 3
_ESTIMATED = 72  # zxcvbn refuses longer input; the first 72 characters decide


def check(password: str, email: str = "") -> None:
    """Refuse (ValidationError, one line) a password too short, too long, or easy to guess."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"the password is shorter than {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"the password is longer than {MAX_LENGTH} characters")
    local, _, domain = email.strip().lower().partition("@")
    squeezed = re.sub(r"[\W_]+", "", password.lower())
    if len(local) >= 3 and re.sub(r"[\W_]+", "", local) in squeezed:
        raise ValidationError("the password is built from the e-mail address: choose another")
    from zxcvbn import zxcvbn

    inputs = [part for part in (local, *domain.split(".")) if part]
    if zxcvbn(password[:_ESTIMATED], user_inputs=inputs)["score"] < MIN_SCORE:
        raise ValidationError("the password is too easy to guess (common, breached, repetitive"
                              " or sequential): a few unrelated words make a good one")
