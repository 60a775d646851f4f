"""Impact accounting constants: grid carbon intensity and prices, each dated and sourced."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class ImpactConfig(Section):
    """Carbon and cost factors for `hpcgen impact`."""

    grid_gco2e_per_kwh: float = Field(21.7, ge=0, description="grid carbon intensity (gCO2e/kWh)")
    grid_source: str = Field("RTE eco2mix, France production-based average 2024", description="where the intensity comes from")
    grid_date: str = Field("2024", description="year or date of the intensity figure")
    eur_per_cpu_hour: float = Field(0.02, ge=0, description="price of one CPU core-hour (EUR)")
    eur_per_gpu_hour: float = Field(1.20, ge=0, description="price of one GPU-hour (EUR)")
    price_source: str = Field("placeholder tariff; set your centre's", description="where the prices come from")
