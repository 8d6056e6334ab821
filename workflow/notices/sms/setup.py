"""Whether SMS is on, and with what: the [sms] settings and the auth token.

SMS is off until an account, a sender and the auth token are all there; then
every page and command that would text says so instead of pretending. The
token comes from BONDTRACK_SMS_AUTH_TOKEN or a 0600 file, never from the
database, and it is never part of a message, a log line or an error.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from workflow.core.config import Settings
from workflow.core.errors import ConfigError

TOKEN_ENV = "BONDTRACK_SMS_AUTH_TOKEN"


@dataclass(frozen=True)
class SmsSetup:
    """What sending a text needs. ``auth_token`` is kept out of the repr."""

    account_sid: str
    from_number: str
    messaging_service_sid: str
    public_url: str
    api_base_url: str
    auth_token: str = field(repr=False)

    @property
    def messages_url(self) -> str:
        base = self.api_base_url.rstrip("/")
        return f"{base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    @property
    def sender(self) -> str:
        """The sending number, or the Messaging Service (its pacing is per service)."""
        return self.from_number or self.messaging_service_sid

    def webhook_url(self, name: str) -> str:
        """The URL the provider calls (and signs) for ``name``: ``status`` or ``inbound``."""
        return f"{self.public_url.rstrip('/')}/sms/{name}"

    def status_callback(self, notice_id: int) -> str:
        """The StatusCallback of one text: the status webhook with the text's outbox id (an
        internal number, nothing personal), so a callback finds its text even before the
        sending worker has recorded the provider's SID, or after it died without doing so."""
        return f"{self.webhook_url('status')}?m={notice_id}"


def off_reason(settings: Settings, environ: Mapping[str, str] | None = None) -> str | None:
    """Why SMS is off (one line), or None when it is on."""
    try:
        load(settings, environ)
    except ConfigError as exc:
        return str(exc)
    return None


def load(settings: Settings, environ: Mapping[str, str] | None = None) -> SmsSetup:
    """The SMS setup, or ConfigError saying (in one line) why texts are off."""
    sms = settings.section("sms")
    missing = [name for name in ("account_sid", "public_url", "api_base_url") if not sms[name]]
    if not (sms["from_number"] or sms["messaging_service_sid"]):
        missing.append("from_number or messaging_service_sid")
    if missing:
        raise ConfigError("text messages are off: set [sms] " + ", ".join(missing))
    return SmsSetup(sms["account_sid"], sms["from_number"], sms["messaging_service_sid"],
                    sms["public_url"], sms["api_base_url"], _token(settings, environ))


def _token(settings: Settings, environ: Mapping[str, str] | None) -> str:
    env = os.environ if environ is None else environ
    if token := env.get(TOKEN_ENV, "").strip():
        return token
    path = Path(settings.section("sms")["auth_token_file"] or settings.home / "sms-auth-token")
    try:
        mode = path.stat().st_mode
    except OSError:
        raise ConfigError(f"text messages are off: no auth token (set {TOKEN_ENV} or write it"
                          f" to {path}, mode 0600)") from None
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(f"text messages are off: {path} must be readable by its owner only"
                          " (chmod 600)")
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ConfigError(f"text messages are off: {path} is empty")
    return token
