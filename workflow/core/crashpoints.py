"""Named steps inside bondtrack's writes, where the crash trials kill a process.

A trial (tests/record/test_crashes.py) installs a hook in the child it forks; the child
announces each step it reaches and the trial kills it at the one it tests, so a
kill lands where it is meant to whatever the machine's speed. Production never
installs a hook: reaching a step costs a call and a test of None.
"""

from __future__ import annotations

from collections.abc import Callable

# The steps, named where they are reached.
IMPORT_WRITTEN = "import-written"  # every person and event of a class list inserted, not committed
APPLY_ROW = "apply-row"  # one more move of an apply file made, the file's transaction still open
SWEEP_BATCH = "sweep-batch"  # a batch's findings inserted, its transaction not committed
MESSAGE_FILE = "message-file"  # an e-mail's .eml file written, its queueing not committed
SMTP_ACCEPTED = "smtp-accepted"  # the mail server accepted a message not yet marked sent
SMS_SENDING = "sms-sending"  # a text marked sending (committed), the provider not yet called
SMS_ACCEPTED = "sms-accepted"  # the provider accepted a text not yet marked sent
SMS_RECORDED = "sms-recorded"  # the provider's answer recorded: the text marked sent
ALERTS_CHECKED = "alerts-checked"  # an alert check's alerts and e-mails queued, not committed

_hook: Callable[[str], None] | None = None


def reached(step: str) -> None:
    """Announce ``step`` to the installed hook, if any."""
    if _hook is not None:
        _hook(step)


def install(hook: Callable[[str], None] | None) -> None:
    """Install (or, with None, remove) the hook that hears every step (tests only)."""
    global _hook
    _hook = hook
