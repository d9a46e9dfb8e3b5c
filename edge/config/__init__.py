"""Edge configuration: TOML → frozen dataclasses, validated before any I/O."""

from edge.config.loader import CSV_COLUMNS, load_config, load_config_doc, load_config_text
from edge.config.model import (
    AreaConfig,
    BusConfig,
    Config,
    GatewayConfig,
    MasterConfig,
    MeterConfig,
    MqttConfig,
    PlanConfig,
    PublishConfig,
    TransformerConfig,
)

__all__ = [
    "CSV_COLUMNS",
    "AreaConfig",
    "BusConfig",
    "Config",
    "GatewayConfig",
    "MasterConfig",
    "MeterConfig",
    "MqttConfig",
    "PlanConfig",
    "PublishConfig",
    "TransformerConfig",
    "load_config",
    "load_config_doc",
    "load_config_text",
]
