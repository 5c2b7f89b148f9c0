"""The preprocessing core: master frames, calibration and a catalog.

`process_night` does a night's work end to end; the pieces it is made of
(`make_master_bias`, `make_master_dark`, `make_master_flat`,
`calibrate_file`, `Catalog`) are public for scripts that want less.
"""

from .calibrate import BAD_FLAT, SATURATED, calibrate_data, calibrate_file
from .catalog import Catalog
from .combine import METHODS, reduce_stack
from .io import FrameError, FrameInfo, read_info
from .masters import (
    DEFAULT_MEMORY_LIMIT,
    MasterResult,
    StackSpec,
    combine_frames,
    make_master_bias,
    make_master_dark,
    make_master_flat,
)
from .night import NightReport, default_catalog_path, process_night

__all__ = [
    "process_night",
    "NightReport",
    "Catalog",
    "default_catalog_path",
    "make_master_bias",
    "make_master_dark",
    "make_master_flat",
    "combine_frames",
    "StackSpec",
    "MasterResult",
    "calibrate_file",
    "calibrate_data",
    "read_info",
    "FrameInfo",
    "FrameError",
    "reduce_stack",
    "METHODS",
    "DEFAULT_MEMORY_LIMIT",
    "SATURATED",
    "BAD_FLAT",
]
