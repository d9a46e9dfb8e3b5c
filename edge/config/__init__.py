"""Edge configuration: TOML → frozen dataclasses, validated before any I/O."""

from edge.config.area_file import AreaFile, load_area_config
from edge.config.loader import CSV_COLUMNS, load_config, load_config_text
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
    "AreaFile",
    "BusConfig",
    "Config",
    "GatewayConfig",
    "MasterConfig",
    "MeterConfig",
    "MqttConfig",
    "PlanConfig",
    "PublishConfig",
    "TransformerConfig",
    "load_area_config",
    "load_config",
    "load_config_text",
]
