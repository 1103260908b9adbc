"""SLO rules generated from SloObjective: error ratios per window, budgets and burn-rate alerts.

Each objective gets, for its availability SLI (share of non-5xx requests), its latency SLI (share
of requests faster than the threshold) and each of its custom SLIs (PromQL from config):
- error-ratio recording rules over 5m, 30m, 1h, 2h, 6h, 1d and 3d,
- the error budget left over the last 30 days, the SLO period (and over 7 days, kept for existing
  dashboards): an average of the 5m ratios, good enough for a gauge. Prometheus keeps 7 days in
  staging and 15 in production, so the 30-day gauge averages what retention holds,
- four multiwindow burn-rate alerts, as in the Google SRE workbook and sloth/pyrra: pages
  (critical) on 1h and 5m above 14.4x the budget (2 % of a 30-day budget gone in an hour) and on
  6h and 30m above 6x (5 % in six hours); tickets (warning) on 1d and 2h above 3x (10 % in a day)
  and on 3d and 6h above 1x (10 % in three days). The short window makes each alert resolve soon
  after the burn stops; Alertmanager's critical-mutes-warning rule silences a ticket while a page
  for the same SLI fires.
Ref: https://sre.google/workbook/alerting-on-slos/#6-multiwindow-multi-burn-rate-alerts
Ref: https://sloth.dev/introduction/ (page and ticket windows)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple, Sequence

from ..slo_models import DAILY_BURN_RATE, FAST_BURN_RATE, SLOW_BURN_RATE, STEADY_BURN_RATE, CustomSli, SloObjective
from .helpers import alert, record

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
BUDGET_WINDOWS = ("30d", "7d")
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
    BurnRateAlert("6h", "30m", SLOW_BURN_RATE, "15m", "critical"),
    BurnRateAlert("1d", "2h", DAILY_BURN_RATE, "30m", "warning"),
    BurnRateAlert("3d", "6h", STEADY_BURN_RATE, "1h", "warning"),
)
"""Pages (critical) on the two short pairs, tickets (warning) on the two long ones."""


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
        for budget_window in BUDGET_WINDOWS:
            rules.append(
                record(
                    f"namespace_app:slo_{sli}_error_budget:remaining_{budget_window}",
                    f"""
                    1 - avg_over_time(namespace_app:slo_{sli}_errors:ratio_rate5m{{{recorded}}}[{budget_window}])
                      / {_number(budget)}
                    """,
                    labels,
                )
            )
    for custom in objective.custom_slis:
        rules.extend(custom_recording_rules(objective, custom))
    return rules


def _escaped(query: str) -> str:
    """A query from config, safe inside a promql() template ('%' is PromQL's modulo)."""
    return query.replace("%", "%%")


def custom_recording_rules(objective: SloObjective, custom: CustomSli) -> list[dict[str, Any]]:
    """Return the error-ratio and error-budget recording rules of one custom SLI."""
    labels = {**_objective_labels(objective), "sli": custom.name}
    rules = [
        record(
            f"namespace_app_sli:slo_errors:ratio_rate{window}",
            f"""
            (
              sum by (namespace) ({_escaped(custom.query("errors", window))})
              or
              sum by (namespace) ({_escaped(custom.query("total", window))}) * 0
            )
            /
            sum by (namespace) ({_escaped(custom.query("total", window))})
            """,
            labels,
        )
        for window in WINDOWS
    ]
    selector = f'{_recorded_selector(objective)}, sli="{custom.name}"'
    rules.extend(
        record(
            f"namespace_app_sli:slo_error_budget:remaining_{budget_window}",
            f"""
            1 - avg_over_time(namespace_app_sli:slo_errors:ratio_rate5m{{{selector}}}[{budget_window}])
              / {_number(custom.budget)}
            """,
            labels,
        )
        for budget_window in BUDGET_WINDOWS
    )
    return rules


class Sli(NamedTuple):
    """One SLI of an objective, as its burn-rate alerts need it."""

    alert: str
    errors: str
    """The recorded error ratio, '{window}' standing for the window."""
    labels: dict[str, str]
    budget: Decimal
    target: str
    outcome: str


def _slis(objective: SloObjective) -> list[Sli]:
    recorded = _recorded_selector(objective)
    labels = _objective_labels(objective)
    threshold = f"{objective.latency_threshold_seconds:g}s"
    slis = [
        Sli(
            "SLOAvailabilityErrorBudgetBurn",
            f"namespace_app:slo_availability_errors:ratio_rate{{window}}{{{{{recorded}}}}}",
            labels,
            objective.availability_budget,
            f"{objective.availability_percent:g}% available",
            "failed {{ $value | humanizePercentage }} of its requests",
        ),
        Sli(
            "SLOLatencyErrorBudgetBurn",
            f"namespace_app:slo_latency_errors:ratio_rate{{window}}{{{{{recorded}}}}}",
            labels,
            objective.latency_budget,
            f"{objective.latency_percent:g}% of requests within {threshold}",
            f"answered {{{{ $value | humanizePercentage }}}} of its requests slower than {threshold}",
        ),
    ]
    for custom in objective.custom_slis:
        selector = f'{recorded}, sli="{custom.name}"'
        slis.append(
            Sli(
                "SLOCustomErrorBudgetBurn",
                f"namespace_app_sli:slo_errors:ratio_rate{{window}}{{{{{selector}}}}}",
                {**labels, "sli": custom.name},
                custom.budget,
                f"{custom.percent:g}% good {custom.name} events",
                f"had {{{{ $value | humanizePercentage }}}} bad {custom.name} events",
            )
        )
    return slis


def burn_rate_alerts(objective: SloObjective) -> list[dict[str, Any]]:
    """Return the four burn-rate alerts (see BURN_RATE_ALERTS) of every SLI of one objective."""
    alerts = []
    for sli in _slis(objective):
        what = sli.labels.get("sli", sli.alert.removeprefix("SLO").removesuffix("ErrorBudgetBurn").lower())
        for burn in BURN_RATE_ALERTS:
            threshold = f"({_number(burn.factor)} * {_number(sli.budget)})"
            days_left = f"{Decimal(SLO_PERIOD_DAYS) / burn.factor:.1f}".removesuffix(".0")
            pace = f"{_number(burn.factor)}x too fast" if burn.factor > 1 else "faster than the objective allows"
            alerts.append(
                alert(
                    sli.alert,
                    f"""
                    {sli.errors.format(window=burn.long_window)} > {threshold}
                    and
                    {sli.errors.format(window=burn.short_window)} > {threshold}
                    """,
                    for_=burn.for_,
                    severity=burn.severity,
                    labels={**sli.labels, "long_window": burn.long_window, "short_window": burn.short_window},
                    summary=f"{objective.app} burns its {what} error budget {pace} "
                    f"({burn.long_window} and {burn.short_window} windows).",
                    description=f"""
                    {{{{ $labels.app }}}} in namespace {{{{ $labels.namespace }}}} {sli.outcome} over the last
                    {burn.long_window}, more than {_number(burn.factor)} times its error budget of
                    {_number(sli.budget * 100)}%
                    (objective: {sli.target}); at this pace a {SLO_PERIOD_DAYS}-day budget is spent in
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
