"""``farm.yaml``: the farm's shared bots and its pool, beside its templates.

Optional: a farm without one serves its crews on the console only, with the defaults
below. Its ``channels:`` is company.yaml's (one section per platform, the same secrets
from the environment): one bot per platform for the whole farm, each person routed to
their own crew. Its ``channels.web.console`` (host, port, url, as in company.yaml) is
where ``farm up`` serves the farm's one web console for every crew: loopback unless it
says otherwise. A mistake names the file, the line and the field, as for company.yaml.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from equipage.company import ConfigModel
from equipage.company.platforms import ChannelsConfig
from equipage.errors import ConfigError
from equipage.yamlpos import config_error, parse_yaml

__all__ = ["FARM_FILE", "FarmConfig", "PoolConfig", "load_farm_config"]

FARM_FILE = "farm.yaml"


class PoolConfig(ConfigModel):
    """The one pool of workers that serves every crew of the farm, in each process."""

    concurrency: int = Field(64, ge=1, le=10_000, description="runs at once, all crews together")
    loaded: int = Field(256, ge=1, description="crews kept loaded (compiled) at most")
    idle_after: float = Field(300.0, gt=0, description="seconds before an unused crew is unloaded")
    shards: int = Field(4, ge=1, le=256, description="wake-up streams (keep it on a running farm)")
    visibility_timeout: float = Field(
        60.0, gt=0, description="seconds before a dead process's entry is taken over"
    )
    sweep_every: float = Field(5.0, gt=0, description="seconds between looks at busy crews")


class FarmConfig(ConfigModel):
    """What ``farm.yaml`` holds."""

    language: str = Field("en", pattern="^(en|fr)$", description="how the farm talks to strangers")
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    pool: PoolConfig = Field(default_factory=PoolConfig)


def load_farm_config(root: Path) -> FarmConfig:
    """The farm's ``farm.yaml``, or the defaults when it has none."""
    file = root / FARM_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FarmConfig()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read this file: {err}", path=str(file)) from err
    data, positions = parse_yaml(text, str(file))
    if data is None:
        return FarmConfig()
    if not isinstance(data, dict):
        raise ConfigError(
            "farm.yaml must be a YAML mapping (channels:, pool:, language:)",
            path=str(file),
            line=1,
        )
    try:
        return FarmConfig.model_validate(data)
    except ValidationError as err:
        raise config_error(err, str(file), positions, FarmConfig) from err
