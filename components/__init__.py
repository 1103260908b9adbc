"""Keelson: secure-by-default Kubernetes building blocks for Pulumi programs.

Import the components and their Args from here:

    from keelson import HardenedApp, HardenedAppArgs, GovernedNamespace, GovernedNamespaceArgs
"""

from .app_canary import CanarySpec
from .app_containers import ContainerSpec
from .app_files import AppFiles
from .app_jobs import JobSpec, ScheduledJob
from .app_models import AppIdentity, AppMetadata, AppPlacement, AppStorage, Toleration
from .backups import BackupPolicy, BackupSchedules, BackupSchedulesArgs, BackupTarget
from .cert_issuer import CertificateSpec, CertIssuer, CertIssuerArgs, Dns01Solver
from .hardened_app import HardenedApp, HardenedAppArgs
from .models import (
    Autoscaling,
    ComputeResources,
    DisruptionBudget,
    HealthCheck,
    LimitRangeSpec,
    NamespaceSpec,
    PodSecurityLabels,
    ResourceQuotaSpec,
    ResourceRequirements,
)
from .logging.stack import LoggingStack, LoggingStackArgs
from .monitoring.stack import MonitoringStack, MonitoringStackArgs
from .namespace import GovernedNamespace, GovernedNamespaceArgs
from .network_models import AppPeer, EgressRule, IngressPolicy, IngressSpec, NetworkPeers
from .scheduling import PlatformPriorityClasses, PriorityClasses, SpreadPolicy

__version__ = "0.1.0"

__all__ = [
    "AppFiles",
    "AppIdentity",
    "AppMetadata",
    "AppPeer",
    "AppPlacement",
    "AppStorage",
    "Autoscaling",
    "BackupPolicy",
    "BackupSchedules",
    "BackupSchedulesArgs",
    "BackupTarget",
    "CanarySpec",
    "CertIssuer",
    "CertIssuerArgs",
    "CertificateSpec",
    "Dns01Solver",
    "ComputeResources",
    "ContainerSpec",
    "DisruptionBudget",
    "EgressRule",
    "GovernedNamespace",
    "GovernedNamespaceArgs",
    "HardenedApp",
    "HardenedAppArgs",
    "HealthCheck",
    "IngressPolicy",
    "IngressSpec",
    "JobSpec",
    "LimitRangeSpec",
    "LoggingStack",
    "LoggingStackArgs",
    "MonitoringStack",
    "MonitoringStackArgs",
    "NamespaceSpec",
    "NetworkPeers",
    "PlatformPriorityClasses",
    "PodSecurityLabels",
    "PriorityClasses",
    "ResourceQuotaSpec",
    "ResourceRequirements",
    "ScheduledJob",
    "SpreadPolicy",
    "Toleration",
]
