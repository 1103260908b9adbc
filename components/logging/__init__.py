"""Centralized logging as data: the Fluent Bit pipeline, the Loki configuration and log-based alerts.

Pure builders return plain dicts (no Pulumi resources); the LoggingStack component turns them into
ConfigMaps and workloads:

    from keelson.logging import (
        LoggingStack, LoggingStackArgs, FluentBitSpec, LokiSpec, LokiLimits, LogAlerts, ElasticsearchOutput,
        fluent_bit_config, loki_config, loki_rule_groups,
    )
"""

from .collector import COLLECTOR_POD_SECURITY, CollectorNamespaceSpec
from .fluent_bit import fluent_bit_config, render_fluent_bit_files
from .loki_config import LOKI_VERSION, loki_args, loki_config
from .models import ElasticsearchOutput, FluentBitSpec, LogAlerts, LokiLimits, LokiSpec
from .rules import loki_rule_groups, render_loki_rules
from .stack import LoggingStack, LoggingStackArgs

__all__ = [
    "COLLECTOR_POD_SECURITY",
    "LOKI_VERSION",
    "ElasticsearchOutput",
    "FluentBitSpec",
    "LogAlerts",
    "CollectorNamespaceSpec",
    "LoggingStack",
    "LoggingStackArgs",
    "LokiLimits",
    "LokiSpec",
    "fluent_bit_config",
    "loki_args",
    "loki_config",
    "loki_rule_groups",
    "render_fluent_bit_files",
    "render_loki_rules",
]
