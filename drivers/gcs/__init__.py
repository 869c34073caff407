"""The reference GCS driver (spec 1.3 "GCS", 2.2, 6.4, 6.5, 8.1): ``drivers.gcs:GCSDriver``."""

from drivers.gcs.driver import GCSDriver
from drivers.gcs.streams import CHUNK_SIZE

__all__ = ["CHUNK_SIZE", "GCSDriver"]
