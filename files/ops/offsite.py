"""Off-host copies of the verified backups in an S3 bucket (backup.py --s3-bucket), pruned there by
the same retention as on the host. Credentials come from the usual AWS sources (the instance's
role on EC2, the environment, a profile); none is ever passed on a command line."""

import os

from opslib import OpsError

EXIT_OFFSITE = 6


def client(endpoint_url=None):
    """An S3 client (endpoint_url: another endpoint, such as an emulator)."""
    try:
        import boto3  # noqa: PLC0415 - only the hosts that copy off-host need the AWS SDK
    except ImportError:
        raise OpsError(EXIT_OFFSITE, "the AWS SDK is not installed (python3-boto3): cannot copy to S3") from None
    return boto3.client("s3", endpoint_url=endpoint_url or None)


def _keys(s3, bucket, prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def copy(s3, bucket, folder, path, keep):
    """Upload the dump and its .sha256 into the folder (a key prefix ending in /, one per kind of backup),
    then remove the oldest dumps there beyond keep (0: keep all). Returns (the dump's key, the keys removed)."""
    from boto3.exceptions import Boto3Error  # noqa: PLC0415 - only with boto3
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - comes with boto3

    key = folder + os.path.basename(path)
    try:
        s3.upload_file(path + ".sha256", bucket, key + ".sha256")
        s3.upload_file(path, bucket, key)
        # The names carry their UTC time (…-20261129T010000.000000Z.dump): sorted is oldest first.
        dumps = sorted(k for k in _keys(s3, bucket, folder) if k.endswith(".dump"))
        victims = dumps[:max(len(dumps) - keep, 0)] if keep else []
        if victims:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [
                {"Key": k} for victim in victims for k in (victim, victim + ".sha256")]})
    except (Boto3Error, BotoCoreError, ClientError) as exc:
        raise OpsError(EXIT_OFFSITE, f"copy to s3://{bucket}/{folder} failed: {exc}") from None
    return key, victims
