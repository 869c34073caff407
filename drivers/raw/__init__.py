"""The reference Raw driver (spec 1.3 "Raw", 2.9): ``drivers.raw:RawDriver``."""

from drivers.raw.driver import RawDriver

__all__ = ["RawDriver"]
