"""Typed, validated SLO inputs: SloObjective (availability, latency and custom SLIs of one app)
and the burn rates its alerts use (components/monitoring/rules/slo.py).

Like every Keelson model these reject unknown keys, are frozen, and accept camelCase (stack files)
and snake_case (Python) spellings; components/monitoring/models.py re-exports them.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from ..models import DnsLabel, KeelsonModel, plain_number

FAST_BURN_RATE = Decimal("14.4")
"""Burn rate of the 1h/5m SLO alert: 2 % of a 30-day error budget spent in one hour.
Ref: https://sre.google/workbook/alerting-on-slos/#6-multiwindow-multi-burn-rate-alerts"""
SLOW_BURN_RATE = Decimal("6")
"""Burn rate of the 6h/30m SLO alert: 5 % of a 30-day error budget spent in six hours."""
DAILY_BURN_RATE = Decimal("3")
"""Burn rate of the 1d/2h SLO ticket: 10 % of a 30-day error budget spent in a day."""
STEADY_BURN_RATE = Decimal("1")
"""Burn rate of the 3d/6h SLO ticket: 10 % of a 30-day error budget spent in three days, i.e. the
budget runs out exactly at the end of the period."""

DEFAULT_HISTOGRAM_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""prometheus.DefBuckets of the Go client, which podinfo's http_request_duration_seconds uses.
Ref: https://pkg.go.dev/github.com/prometheus/client_golang/prometheus#pkg-variables"""

_WINDOW_PLACEHOLDER = "{{window}}"


def _budget_problem(key: str, percent: float) -> str | None:
    """Why a target leaves too small an error budget for the 1h/5m alert to fire, or None."""
    budget = 1 - Decimal(str(percent)) / 100
    if FAST_BURN_RATE * budget < 1:
        return None
    floor = 100 * (1 - 1 / FAST_BURN_RATE)
    return (
        f"'{key}' ({percent:g}) leaves an error budget of {plain_number(budget * 100)} %, so the 1h/5m alert would "
        f"need more than 100 % bad requests ({FAST_BURN_RATE}x the budget) and could never fire; "
        f"use a target above {floor:.2f}"
    )


class CustomSli(KeelsonModel):
    """An SLI of your own: the share of bad events among all events, as two PromQL queries.

    Both queries give events per second over the window '{{window}}' (each SLO window is put in
    its place), e.g. errorsQuery 'rate(payments_total{app="api", outcome="failed"}[{{window}}])'
    and totalQuery 'rate(payments_total{app="api"}[{{window}}])'. Each is summed by namespace (the
    label routing and inhibition use), so select the objective's namespace, if it has one, in the
    queries; other labels are dropped. A missing errors series counts as no error.
    """

    name: DnsLabel
    """Name of the SLI, its 'sli' label in the recorded series and alerts. Required."""
    errors_query: str = Field(min_length=1)
    """PromQL of the bad events per second over '{{window}}'. Required."""
    total_query: str = Field(min_length=1)
    """PromQL of all events per second over '{{window}}'. Required."""
    percent: float = Field(default=99.9, gt=90, lt=100)
    """Target share of good events, percent. Default: 99.9, as the availability objective."""

    @field_validator("errors_query", "total_query")
    @classmethod
    def _has_window(cls, query: str) -> str:
        if _WINDOW_PLACEHOLDER not in query:
            raise ValueError(
                f"'{query}' has no '{_WINDOW_PLACEHOLDER}': the query must take its range from the SLO window, "
                f"e.g. sum(rate(requests_failed_total[{_WINDOW_PLACEHOLDER}]))"
            )
        return query

    @model_validator(mode="after")
    def _alerts_can_fire(self) -> CustomSli:
        problem = _budget_problem("percent", self.percent)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def budget(self) -> Decimal:
        """The allowed share of bad events, e.g. 0.001 for 99.9 %."""
        return 1 - Decimal(str(self.percent)) / 100

    def query(self, which: str, window: str) -> str:
        """Return the errors or total query for one window."""
        return getattr(self, f"{which}_query").replace(_WINDOW_PLACEHOLDER, window)


class SloObjective(KeelsonModel):
    """Availability and latency objectives of one app, turned into burn-rate alerts.

    The availability SLI is the share of requests answered without a 5xx status; the latency SLI is
    the share answered within 'latency_threshold_seconds'. Both come from the metrics podinfo (and
    any Go app using the Prometheus client's HTTP middleware) exposes: http_requests_total{status}
    and http_request_duration_seconds_bucket{le}.

    Default: 99.9 % available, 99 % of requests within 250 ms, because a 0.1 % budget (43 min per
    30 days) is the usual starting point for a user-facing API and 250 ms is a bucket boundary of
    the default histogram.
    """

    app: DnsLabel
    """Name of the app (its pods' app.kubernetes.io/name, the 'app' label of its series). Required."""
    namespace: DnsLabel | None = Field(
        default=None,
        description="Namespace of the app. Default: None, the app of that name in every namespace.",
    )
    availability_percent: float = Field(default=99.9, gt=90, lt=100)
    """Target share of requests answered without a 5xx status, percent. Default: 99.9, an error budget
    of 43 minutes per 30 days, the usual start for a user-facing API."""
    latency_threshold_seconds: float = Field(default=0.25, gt=0)
    """Time within which a request counts as fast; a bucket boundary of 'histogramBuckets'. Default:
    0.25, a boundary of the default buckets."""
    latency_percent: float = Field(default=99.0, gt=90, lt=100)
    """Target share of requests answered within 'latencyThresholdSeconds', percent. Default: 99."""
    histogram_buckets: tuple[float, ...] = Field(
        default=DEFAULT_HISTOGRAM_BUCKETS,
        min_length=1,
        description="Bucket boundaries of the app's http_request_duration_seconds histogram. "
        "Default: the Go client's DefBuckets, which podinfo uses.",
    )

    custom_slis: list[CustomSli] = Field(default=[])
    """SLIs of the app given as PromQL (see CustomSli), each with its own budget and burn-rate
    alerts. Default: none, the availability and latency SLIs only."""

    @field_validator("custom_slis")
    @classmethod
    def _custom_names_unique(cls, slis: list[CustomSli]) -> list[CustomSli]:
        names = [sli.name for sli in slis]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"each custom SLI needs its own 'name'; repeated: {', '.join(repeated)}")
        return slis

    @field_validator("histogram_buckets")
    @classmethod
    def _buckets_increase(cls, buckets: tuple[float, ...]) -> tuple[float, ...]:
        if any(bucket <= 0 for bucket in buckets) or any(later <= earlier for earlier, later in zip(buckets, buckets[1:])):
            raise ValueError(
                f"({', '.join(f'{bucket:g}' for bucket in buckets)}) must be positive and strictly increasing, "
                "as the Prometheus client libraries require of histogram buckets"
            )
        return buckets

    @model_validator(mode="after")
    def _alerts_can_fire(self) -> SloObjective:
        if self.latency_threshold_seconds not in self.histogram_buckets:
            raise ValueError(
                f"'latencyThresholdSeconds' ({self.latency_threshold_seconds:g}) is not a bucket boundary of "
                f"'histogramBuckets' ({', '.join(f'{bucket:g}' for bucket in self.histogram_buckets)}): the "
                "latency SLI counts the requests of the bucket le=<threshold>, which must exist"
            )
        for key, percent in (
            ("availabilityPercent", self.availability_percent),
            ("latencyPercent", self.latency_percent),
        ):
            problem = _budget_problem(key, percent)
            if problem:
                raise ValueError(problem)
        return self

    @property
    def availability_budget(self) -> Decimal:
        """The allowed share of failed requests, e.g. 0.001 for 99.9 %."""
        return 1 - Decimal(str(self.availability_percent)) / 100

    @property
    def latency_budget(self) -> Decimal:
        """The allowed share of slow requests, e.g. 0.01 for 99 %."""
        return 1 - Decimal(str(self.latency_percent)) / 100
