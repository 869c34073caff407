"""The reference S3 driver (spec 1.3, 2.1, 6): ``drivers.s3:S3Driver`` for ``new_driver``."""

from drivers.s3.driver import DIRECTORY_STREAM_UNIMPLEMENTED, S3Driver, dir_prefix
from drivers.s3.ssec import derive_sse_c_key

__all__ = ["DIRECTORY_STREAM_UNIMPLEMENTED", "S3Driver", "derive_sse_c_key", "dir_prefix"]
