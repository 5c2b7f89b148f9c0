"""The preprocessor daemon: ``Exposure Calibration`` of a night's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from torosdrivers.config import Config
from torosdrivers.preprocessing import Catalog, process_night

from .service import Service
from .workorders import CalibrationOrder, validate_calibration

__all__ = ["PreprocessorService"]


class PreprocessorService(Service):
    """Runs the preprocessing core on the nights handed to it."""

    name = "preprocessor"
    address_key = "Preprocessor"

    def __init__(self, config: Config, journal: str | None = None) -> None:
        super().__init__(config, journal)
        self.catalog = Catalog(config["Database"]["Catalog"])

    def disconnect(self) -> None:
        self.catalog.close()

    def validate(self, work_order) -> CalibrationOrder:
        return validate_calibration(work_order, Path(self.config["Data Directory"]))

    def run(self, order: CalibrationOrder, progress: Callable[[str], None], cancelled: Callable[[], bool]) -> str:
        report = process_night(order.location, catalog=self.catalog, progress=progress)
        summary = ", ".join(f"{label} {count}" for label, count in report.summary())
        problems = [f"{name}: {why}" for name, why in report.skipped + report.uncalibrated]
        return summary + (f"; problems: {'; '.join(problems)}" if problems else "")
