"""The preprocessor daemon: ``Exposure Calibration`` of a night's folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from torosdrivers.config import Config
from torosdrivers.preprocessing import Catalog, process_night

from torosdrivers.daemons.frame.service import Service
from torosdrivers.daemons.frame.status import Result
from torosdrivers.daemons.frame.workorders import CalibrationOrder, WorkOrderError, validate_calibration

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

    def run(self, order: CalibrationOrder, progress: Callable[..., None], cancelled: Callable[[], bool]) -> Result:
        began = time.monotonic()
        try:
            report = process_night(order.location, catalog=self.catalog, progress=progress)
        except NotADirectoryError as exc:  # the folder is gone, or its products/ leads out of it: the order's
            raise WorkOrderError(f"File Location: {exc}") from None
        counts = report.summary()
        summary = ", ".join(f"{label} {count}" for label, count in counts)
        problems = [f"{name}: {why}" for name, why in report.skipped + report.uncalibrated]
        products = [str(p) for p in report.calibrated + report.up_to_date]
        return Result(summary + (f"; problems: {'; '.join(problems)}" if problems else ""),
                      {"Products": products, "Masters": [str(p) for p in report.masters_built], "Counts": {label: int(count) for label, count in counts},
                       "Problems": problems, "Durations": {"Total": round(time.monotonic() - began, 3)}})
