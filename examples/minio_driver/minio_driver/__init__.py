"""An Argo Workflows S3 artifact driver on minio-py, written against the kit's driver guide.

artconf run --target python:minio_driver:make_driver --backends minio,moto
"""

from minio_driver.driver import MinioDriver, make_driver

__all__ = ["MinioDriver", "make_driver"]
