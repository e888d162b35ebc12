"""AWS's Python caching library (aws-secretsmanager-caching) over secretsd: a cached value
refreshes after PutSecretValue once its refresh interval passes."""

import time

from aws_secretsmanager_caching import SecretCache, SecretCacheConfig


def test_cache_refreshes_after_put(sm):
    sm.create_secret(Name="cached", SecretString="v1")
    cache = SecretCache(config=SecretCacheConfig(secret_refresh_interval=1), client=sm)
    assert cache.get_secret_string("cached") == "v1"
    sm.put_secret_value(SecretId="cached", SecretString="v2")
    # The library refreshes at a random point within its interval: past it, the new value shows.
    time.sleep(1.2)
    assert cache.get_secret_string("cached") == "v2"


def test_cache_reads_binary_and_by_stage(sm):
    sm.create_secret(Name="cbin", SecretBinary=b"\x01\x02")
    sm.put_secret_value(SecretId="cbin", SecretBinary=b"\x03", VersionStages=["NEXT"])
    cache = SecretCache(client=sm)
    assert cache.get_secret_binary("cbin") == b"\x01\x02"
    assert cache.get_secret_binary("cbin", version_stage="NEXT") == b"\x03"
