"""The artifact store's public names, gathered from the modules that hold them.

``client`` opens the one S3 client a process shares; ``objects`` holds the
per-bucket ``ObjectStore``; ``multipart`` the multipart-upload protocol;
``streams`` the download stream and the upload's part splitter; ``records``
what the store reports about objects; ``errors`` the one place S3's errors
become the tracker's.
"""

from tracker.config import S3Settings
from tracker.storage.client import S3Client, open_s3
from tracker.storage.objects import PART_SIZE, ObjectStore
from tracker.storage.records import ObjectInfo, StoredObject
from tracker.storage.streams import ObjectStream

__all__ = [
    "PART_SIZE",
    "ObjectInfo",
    "ObjectStore",
    "ObjectStream",
    "S3Client",
    "S3Settings",
    "StoredObject",
    "open_s3",
]
