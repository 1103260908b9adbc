"""SLO rules generated from SloObjective: error ratios per window, budgets and burn-rate alerts.

Each objective gets, for its availability SLI (share of non-5xx requests) and its latency SLI
(share of requests faster than the threshold):
- error-ratio recording rules over 5m, 30m, 1h and 6h,
- the error budget left over the last 7 days (an average of the 5m ratios, good enough for a
  dashboard gauge),
- two multiwindow burn-rate alerts, as in the Google SRE workbook: 1h and 5m above 14.4x the
  budget (critical: 2 % of a 30-day budget gone in an hour) and 6h and 30m above 6x (warning: 5 %
  gone in six hours). The short window makes the alert resolve soon after the burn stops.
Ref: https://sre.google/workbook/alerting-on-slos/#6-multiwindow-multi-burn-rate-alerts
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple, Sequence

from ..models import FAST_BURN_RATE, SLOW_BURN_RATE, SloObjective
from .helpers import alert, record

WINDOWS = ("5m", "30m", "1h", "6h")
BUDGET_WINDOW = "7d"
SLO_PERIOD_DAYS = 30
"""The period the burn rates are relative to: 14.4x spends a 30-day budget in about 2 days."""


class BurnRateAlert(NamedTuple):
    long_window: str
    short_window: str
    factor: Decimal
    for_: str
    severity: str


BURN_RATE_ALERTS = (
    BurnRateAlert("1h", "5m", FAST_BURN_RATE, "2m", "critical"),
    BurnRateAlert("6h", "30m", SLOW_BURN_RATE, "15m", "warning"),
)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _bucket_matcher(threshold: float) -> str:
    """Match the bucket 'le' label of a threshold as Prometheus 2 ('1') and 3 ('1.0') write it."""
    text = f"{threshold:g}"
    return f'le=~"{text}([.]0)?"' if float(threshold).is_integer() else f'le="{text}"'


def _scrape_selector(objective: SloObjective) -> str:
    namespace = f', namespace="{objective.namespace}"' if objective.namespace else ""
    return f'%(apps)s{namespace}, app="{objective.app}"'


def _recorded_selector(objective: SloObjective) -> str:
    namespace = f'namespace="{objective.namespace}", ' if objective.namespace else ""
    return f'{namespace}app="{objective.app}"'


def _objective_labels(objective: SloObjective) -> dict[str, str]:
    """Static labels equal to what the expression yields: they tell the rules of two objectives
    apart (promtool rejects rules with the same name and labels as duplicates)."""
    labels = {"app": objective.app}
    if objective.namespace:
        labels["namespace"] = objective.namespace
    return labels


def recording_rules(objective: SloObjective) -> list[dict[str, Any]]:
    """Return the error-ratio and error-budget recording rules of one objective."""
    scraped = _scrape_selector(objective)
    recorded = _recorded_selector(objective)
    labels = _objective_labels(objective)
    fast_enough = _bucket_matcher(objective.latency_threshold_seconds)
    rules: list[dict[str, Any]] = []
    for window in WINDOWS:
        rules.append(
            record(
                f"namespace_app:slo_availability_errors:ratio_rate{window}",
                f"""
                (
                  sum by (namespace, app) (rate(http_requests_total{{{scraped}, status=~"5.."}}[{window}]))
                  or
                  sum by (namespace, app) (rate(http_requests_total{{{scraped}}}[{window}])) * 0
                )
                /
                sum by (namespace, app) (rate(http_requests_total{{{scraped}}}[{window}]))
                """,
                labels,
            )
        )
        rules.append(
            record(
                f"namespace_app:slo_latency_errors:ratio_rate{window}",
                f"""
                1 - (
                  sum by (namespace, app) (
                    rate(http_request_duration_seconds_bucket{{{scraped}, {fast_enough}}}[{window}])
                  )
                  /
                  sum by (namespace, app) (rate(http_request_duration_seconds_count{{{scraped}}}[{window}]))
                )
                """,
                labels,
            )
        )
    for sli, budget in (("availability", objective.availability_budget), ("latency", objective.latency_budget)):
        rules.append(
            record(
                f"namespace_app:slo_{sli}_error_budget:remaining_{BUDGET_WINDOW}",
                f"""
                1 - avg_over_time(namespace_app:slo_{sli}_errors:ratio_rate5m{{{recorded}}}[{BUDGET_WINDOW}])
                  / {_number(budget)}
                """,
                labels,
            )
        )
    return rules


def burn_rate_alerts(objective: SloObjective) -> list[dict[str, Any]]:
    """Return the 1h/5m and 6h/30m burn-rate alerts of both SLIs of one objective."""
    recorded = _recorded_selector(objective)
    slis = (
        (
            "availability",
            objective.availability_budget,
            f"{objective.availability_percent:g}% available",
            "failed {{ $value | humanizePercentage }} of its requests",
        ),
        (
            "latency",
            objective.latency_budget,
            f"{objective.latency_percent:g}% of requests within {objective.latency_threshold_seconds:g}s",
            "answered {{ $value | humanizePercentage }} of its requests slower than "
            f"{objective.latency_threshold_seconds:g}s",
        ),
    )
    alerts = []
    for sli, budget, target, outcome in slis:
        for burn in BURN_RATE_ALERTS:
            threshold = f"({_number(burn.factor)} * {_number(budget)})"
            days_left = f"{Decimal(SLO_PERIOD_DAYS) / burn.factor:.1f}".removesuffix(".0")
            alerts.append(
                alert(
                    f"SLO{sli.capitalize()}ErrorBudgetBurn",
                    f"""
                    namespace_app:slo_{sli}_errors:ratio_rate{burn.long_window}{{{recorded}}} > {threshold}
                    and
                    namespace_app:slo_{sli}_errors:ratio_rate{burn.short_window}{{{recorded}}} > {threshold}
                    """,
                    for_=burn.for_,
                    severity=burn.severity,
                    labels={
                        **_objective_labels(objective),
                        "long_window": burn.long_window,
                        "short_window": burn.short_window,
                    },
                    summary=f"{objective.app} burns its {sli} error budget {_number(burn.factor)}x too fast "
                    f"({burn.long_window} and {burn.short_window} windows).",
                    description=f"""
                    {{{{ $labels.app }}}} in namespace {{{{ $labels.namespace }}}} {outcome} over the last
                    {burn.long_window}, more than {_number(burn.factor)} times its error budget of
                    {_number(budget * 100)}%
                    (objective: {target}); at this pace a {SLO_PERIOD_DAYS}-day budget is spent in
                    {days_left} days.
                    """,
                )
            )
    return alerts


def groups(objectives: Sequence[SloObjective]) -> list[dict[str, Any]]:
    """Return the SLO rule groups; an empty list when no objective is set."""
    if not objectives:
        return []
    return [
        {
            "name": "keelson.slo.recording",
            "rules": [rule for objective in objectives for rule in recording_rules(objective)],
        },
        {
            "name": "keelson.slo.alerts",
            "rules": [rule for objective in objectives for rule in burn_rate_alerts(objective)],
        },
    ]
