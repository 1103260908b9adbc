"""Typed, validated inputs of the monitoring builders: scraped apps and alert channels (the SLO
models live in slo_models.py and are re-exported here).

Like every Keelson model these reject unknown keys, are frozen, and accept camelCase (stack files)
and snake_case (Python) spellings. Credentials are pydantic SecretStr: they never appear in a repr,
a log line or the rendered Alertmanager config (see components/monitoring/alertmanager.py).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, SecretStr, TypeAdapter, field_validator, model_validator

from ..models import DnsLabel, Hostname, KeelsonModel
from .slo_models import (  # noqa: F401  (re-exported: SLO models live in slo_models.py)
    DAILY_BURN_RATE,
    DEFAULT_HISTOGRAM_BUCKETS,
    FAST_BURN_RATE,
    SLOW_BURN_RATE,
    STEADY_BURN_RATE,
    CustomSli,
    SloObjective,
)

_DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
_SLACK_CHANNEL = re.compile(r"^[#@]?[a-z0-9][a-z0-9._-]{0,79}$|^[CGD][A-Z0-9]{6,}$")
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}$")
_HOSTNAME: TypeAdapter[str] = TypeAdapter(Hostname)


def _duration(text: str) -> str:
    if not _DURATION.fullmatch(text) or int(re.sub(r"[a-z]+$", "", text)) == 0:
        raise ValueError(f"'{text}' is not a positive Prometheus duration such as 5s, 30s or 1m")
    return text


def _email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"'{text}' is not an email address such as oncall@example.com")
    return text


def _email_list(text: str) -> str:
    for address in text.split(","):
        _email(address.strip())
    return text


def _smarthost(text: str) -> str:
    host, separator, port = text.rpartition(":")
    if not separator or not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(f"'{text}' is not host:port, e.g. smtp.example.com:587")
    if host != "localhost":
        try:
            _HOSTNAME.validate_python(host)
        except ValueError:
            raise ValueError(f"'{text}' is not host:port: '{host}' is not a DNS hostname") from None
    return text


def _https_url(secret: SecretStr) -> SecretStr:
    value = secret.get_secret_value()
    if not value.startswith("https://") or len(value) <= len("https://"):
        # The value itself is a credential, so the message shows only its scheme, and only when it
        # looks like one (a pasted token containing '://' must not be echoed as a "scheme").
        scheme, separator, _ = value.partition("://")
        if value == "https://":
            shown = "nothing after https://"
        elif not separator:
            shown = "no scheme"
        elif _SCHEME.fullmatch(scheme):
            shown = f"{scheme}://"
        else:
            shown = "no readable scheme"
        raise ValueError(f"must be an https:// URL (got {shown}), because the URL carries a credential")
    if any(character.isspace() or ord(character) < 32 for character in value):
        raise ValueError(
            f"must be a URL without spaces or control characters ({len(value)} characters given), because "
            "Alertmanager reads it verbatim from its Secret file"
        )
    return secret


PrometheusDuration = Annotated[str, AfterValidator(_duration)]
EmailAddress = Annotated[str, AfterValidator(_email)]
HttpsSecretUrl = Annotated[SecretStr, AfterValidator(_https_url)]


class ScrapedApp(KeelsonModel):
    """An app Prometheus scrapes in a job of its own, at its own interval.

    HardenedApp pods carry 'app.kubernetes.io/name', the 'prometheus.io/*' annotations and
    'keelson.dev/scrape-interval'; the job selects them by namespace and name.

    Default: every 5 s, because API latency alerts need fine samples (HardenedApp uses 10 s for
    workers; pass its 'effective_scrape_interval').
    """

    name: DnsLabel
    """The app's name, its pods' app.kubernetes.io/name label. Required."""
    namespace: DnsLabel
    """Namespace of the app's pods. Required."""
    scrape_interval: PrometheusDuration = "5s"
    """How often the job scrapes the app. Default: 5s, because API latency alerts need fine samples."""

    @classmethod
    def from_intervals(cls, namespace: str, intervals: dict[str, str]) -> list[ScrapedApp]:
        """Return one ScrapedApp per entry of an {app name: scrape interval} mapping."""
        return [cls(name=name, namespace=namespace, scrape_interval=interval) for name, interval in intervals.items()]


_HIDE_INPUT = ConfigDict(hide_input_in_errors=True)
"""Channel models carry credentials: a validation error must not echo the value it rejected."""


class SlackChannel(KeelsonModel):
    """A Slack incoming webhook. Ref: https://api.slack.com/messaging/webhooks"""

    model_config = _HIDE_INPUT

    webhook_url: HttpsSecretUrl
    """The incoming webhook's https:// URL, a `secure:` value (it is the credential). Required."""
    channel: str = Field(description="Channel such as '#alerts' (or a channel ID such as C0123456789). Required.")

    @field_validator("channel")
    @classmethod
    def _channel_name(cls, text: str) -> str:
        if not _SLACK_CHANNEL.fullmatch(text):
            raise ValueError(
                f"'{text}' is not a Slack channel: use '#name' (lowercase letters, digits, '.', '_', '-') "
                "or a channel ID such as C0123456789"
            )
        return text


class PagerDutyChannel(KeelsonModel):
    """A PagerDuty Events API v2 integration. Ref: https://developer.pagerduty.com/docs/events-api-v2/overview/"""

    model_config = _HIDE_INPUT

    routing_key: SecretStr
    """The 32-character integration key of an Events API v2 integration, a `secure:` value. Required."""

    @field_validator("routing_key")
    @classmethod
    def _routing_key_shape(cls, secret: SecretStr) -> SecretStr:
        if not _ROUTING_KEY.fullmatch(secret.get_secret_value()):
            raise ValueError(
                "must be the 32-character integration key of an Events API v2 integration, letters and digits "
                f"only (got {len(secret.get_secret_value())} characters)"
            )
        return secret


class EmailChannel(KeelsonModel):
    """Email through an SMTP relay.

    Default: STARTTLS required, because Alertmanager would otherwise send the SMTP password in the
    clear to any relay that does not offer TLS.
    """

    model_config = _HIDE_INPUT

    to: Annotated[str, AfterValidator(_email_list)] = Field(
        description="One address or a comma-separated list. Required."
    )
    from_: EmailAddress = Field(alias="from")
    """Sender address of the alert emails. Required."""
    smarthost: Annotated[str, AfterValidator(_smarthost)] = Field(description="SMTP relay as host:port. Required.")
    auth_username: str | None = None
    """SMTP user. Default: none, no authentication; give 'authPassword' with it."""
    auth_password: SecretStr | None = None
    """SMTP password, a `secure:` value read from the mounted Secret. Default: none; give
    'authUsername' with it."""
    require_tls: bool = True
    """Require STARTTLS from the relay. Default: true, because Alertmanager would otherwise send the
    SMTP password in the clear to a relay that does not offer TLS."""

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> EmailChannel:
        if (self.auth_username is None) != (self.auth_password is None):
            given = "'authUsername'" if self.auth_username is not None else "'authPassword'"
            raise ValueError(
                f"{given} is set without its partner: give both 'authUsername' and 'authPassword' or neither"
            )
        return self


class WebhookChannel(KeelsonModel):
    """A generic webhook receiving every alert (an incident tracker, a chat-ops bot).

    The URL is a credential: such endpoints usually embed a token in their path or query string, so
    it is a secret that Alertmanager reads from the mounted Secret ('url_file', Alertmanager >=
    0.26), like Slack's. An optional 'bearer_token' is sent as an 'Authorization: Bearer' header,
    also read from the Secret ('http_config.authorization.credentials_file').
    """

    model_config = _HIDE_INPUT

    url: HttpsSecretUrl
    """The webhook's https:// URL, a `secure:` value (such URLs usually embed a token). Required."""
    bearer_token: SecretStr | None = None
    """Token sent as 'Authorization: Bearer', a `secure:` value. Default: none, no such header."""


class HeartbeatChannel(KeelsonModel):
    """A dead man's switch service (healthchecks.io, Dead Man's Snitch, a PagerDuty or Opsgenie
    heartbeat) that receives the always-firing Watchdog alert and pages when it stops arriving.

    The URL is a credential (anyone holding it can keep the switch quiet), so, like the webhook's,
    it is a secret Alertmanager reads from the mounted Secret ('url_file'). Resolved notifications
    are not sent: a "resolved" Watchdog means the pipeline stopped, and must not count as a ping.
    Configure the service to expect a ping every 'repeatInterval' plus the group interval (1m),
    with a grace period of at least one more interval.
    """

    model_config = _HIDE_INPUT

    url: HttpsSecretUrl
    """The service's https:// ping URL, a `secure:` value (it is the credential). Required."""
    repeat_interval: PrometheusDuration = "5m"
    """How often Alertmanager re-sends Watchdog, i.e. the ping period. Default: 5m, short enough for
    the switch to page within minutes of a broken pipeline, long enough not to flood the service."""


class AlertChannels(KeelsonModel):
    """Where alerts go. Every channel is optional; the routing falls back to what is configured.

    critical -> PagerDuty + Slack, warning -> Slack, info -> email, and the webhook (if any) gets
    a copy of everything but Watchdog, which goes to the heartbeat alone. See
    components/monitoring/alertmanager.py for the fallbacks.
    """

    model_config = _HIDE_INPUT

    slack: SlackChannel | None = None
    """Slack, for warning and (with PagerDuty) critical alerts. Default: none; warnings then go to email."""
    pagerduty: PagerDutyChannel | None = None
    """PagerDuty, paged for critical alerts only. Default: none; critical alerts then go to Slack, or
    to email without it."""
    email: EmailChannel | None = None
    """Email, for info alerts. Default: none; info alerts then go to Slack."""
    webhook: WebhookChannel | None = None
    """A webhook receiving a copy of every alert. Default: none."""
    heartbeat: HeartbeatChannel | None = None
    """The dead man's switch receiving only the always-firing Watchdog alert. Default: none, so
    Watchdog goes to the 'null' receiver and nobody notices when the alerting pipeline itself stops;
    production stacks should set it."""

    def configured(self) -> list[str]:
        """Return the names of the configured channels."""
        return [name for name in ("pagerduty", "slack", "email", "webhook") if getattr(self, name) is not None]
