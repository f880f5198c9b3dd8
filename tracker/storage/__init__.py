"""Where artifact bytes live.

The store keeps each tenant's artifacts in a bucket of their own on S3 or an
S3-compatible server, streams bodies in and out without holding them whole,
and hands out presigned URLs for clients that move the bytes themselves.
``tracker.storage.s3`` gathers its public names. The rest of the tracker
records what was stored; this package only stores it.
"""
