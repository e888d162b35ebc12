"""Replication to other Regions with boto3 (docs/aws-behaviour.md §3.6)."""

from conftest import client, error_of


def test_replica_is_readable_in_its_region_and_follows_the_primary(server, sm):
    west = client(server.url, region="eu-west-1")
    out = sm.create_secret(Name="rep", SecretString="v1", AddReplicaRegions=[{"Region": "eu-west-1", "KmsKeyId": "alias/west"}])
    assert out["ReplicationStatus"] == [{"Region": "eu-west-1", "KmsKeyId": "alias/west", "Status": "InSync"}]
    assert west.get_secret_value(SecretId="rep")["SecretString"] == "v1"
    sm.update_secret(SecretId="rep", SecretString="v2", Description="both")
    got = west.get_secret_value(SecretId="rep")
    assert got["SecretString"] == "v2" and ":eu-west-1:" in got["ARN"]
    d = west.describe_secret(SecretId="rep")
    assert d["PrimaryRegion"] == "us-east-1" and d["Description"] == "both" and d["KmsKeyId"] == "alias/west"
    primary = sm.describe_secret(SecretId="rep")
    assert primary["PrimaryRegion"] == "us-east-1"
    assert primary["ReplicationStatus"][0]["Region"] == "eu-west-1"
    assert error_of(west.update_secret, SecretId="rep", Description="x") == (
        "InvalidParameterException",
        "Operation not permitted on a replica secret. Call must be made in primary secret's region.",
        400,
    )
    out = sm.remove_regions_from_replication(SecretId="rep", RemoveReplicaRegions=["eu-west-1"])
    assert out["ReplicationStatus"] == []
    assert error_of(west.describe_secret, SecretId="rep")[0] == "ResourceNotFoundException"


def test_replicate_validation_and_promotion(server, sm):
    west = client(server.url, region="eu-west-1")
    sm.create_secret(Name="promo", SecretString="x")
    assert error_of(sm.replicate_secret_to_regions, SecretId="promo", AddReplicaRegions=[{"Region": "Not_A_Region"}])[0] == "ValidationException"
    out = sm.replicate_secret_to_regions(SecretId="promo", AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert out["ReplicationStatus"][0]["Status"] == "InSync"
    assert west.stop_replication_to_replica(SecretId="promo")["ARN"].startswith("arn:aws:secretsmanager:eu-west-1:")
    west.put_secret_value(SecretId="promo", SecretString="independent")
    assert sm.get_secret_value(SecretId="promo")["SecretString"] == "x"
    assert "ReplicationStatus" not in sm.describe_secret(SecretId="promo")
    assert error_of(sm.stop_replication_to_replica, SecretId="promo")[0] == "InvalidRequestException"


def test_cross_account_replica_lifecycle(server, sm):
    other = client(server.url, key="111111111111", secret="any")
    primary = sm.create_secret(Name="xa/primary", SecretString="v1")["ARN"]
    assert error_of(other.create_secret, Name="xa/replica", CrossAccountPrimaryARN=primary)[0] == "InvalidParameterException"  # needs a KMS key
    assert error_of(other.create_secret, Name="xa/replica", CrossAccountPrimaryARN=primary, KmsKeyId="alias/mine", SecretString="x")[0] == "InvalidParameterException"
    replica = other.create_secret(Name="xa/replica", CrossAccountPrimaryARN=primary, KmsKeyId="alias/mine")["ARN"]
    assert other.describe_secret(SecretId=replica)["CrossAccountPrimary"] == {"PrimarySecretARN": primary, "ReplicationStatus": "Pending"}

    out = sm.associate_cross_account_replica(SecretId=primary, CrossAccountReplicaARN=replica)
    assert (out["ARN"], out["CrossAccountReplicaARN"], out["ReplicationStatus"]) == (primary, replica, "InSync")
    assert other.get_secret_value(SecretId="xa/replica")["SecretString"] == "v1"
    sm.put_secret_value(SecretId=primary, SecretString="v2")
    assert other.get_secret_value(SecretId="xa/replica")["SecretString"] == "v2"
    d = sm.describe_secret(SecretId=primary)
    assert d["CrossAccountReplicas"] == [{"ReplicaSecretARN": replica, "ReplicationStatus": "InSync"}]
    assert error_of(other.put_secret_value, SecretId="xa/replica", SecretString="mine")[0] == "InvalidParameterException"
    assert error_of(sm.delete_secret, SecretId=primary)[0] == "InvalidRequestException"

    sm.disassociate_cross_account_replica(SecretId=primary, CrossAccountReplicaARN=replica)
    assert other.describe_secret(SecretId=replica)["CrossAccountPrimary"]["ReplicationStatus"] == "Detached"
    other.put_secret_value(SecretId="xa/replica", SecretString="mine")
    assert sm.get_secret_value(SecretId=primary)["SecretString"] == "v2"
    sm.delete_secret(SecretId=primary, ForceDeleteWithoutRecovery=True)
