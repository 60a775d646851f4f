"""Impact accounting constants: grid carbon intensity and prices, each dated and sourced."""
from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from hpcgen.config.base import Section


class ImpactConfig(Section):
    """Carbon and cost factors for `hpcgen impact`."""

    grid_gco2e_per_kwh: Annotated[float, Meta(ge=0, description="grid carbon intensity (gCO2e/kWh)")] = 21.7
    grid_source: Annotated[str, Meta(description="where the intensity comes from")] = "RTE eco2mix, France production-based average 2024"
    grid_date: Annotated[str, Meta(description="year or date of the intensity figure")] = "2024"
    eur_per_cpu_hour: Annotated[float, Meta(ge=0, description="price of one CPU core-hour (EUR)")] = 0.02
    eur_per_gpu_hour: Annotated[float, Meta(ge=0, description="price of one GPU-hour (EUR)")] = 1.20
    price_source: Annotated[str, Meta(description="where the prices come from")] = "placeholder tariff; set your centre's"
