// The AWS JS SDK v3 against secretsd: it signs x-amz-content-sha256 and parses errors its own
// way (docs/aws-behaviour.md §1.2, §1.4). Run by compat-tests/test_js.py with SECRETSD_URL set.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SecretsManagerClient,
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
  BatchGetSecretValueCommand,
  UpdateSecretVersionStageCommand,
  DeleteSecretCommand,
  TagResourceCommand,
  paginateListSecrets,
} from "@aws-sdk/client-secrets-manager";

const endpoint = process.env.SECRETSD_URL;
const client = (credentials = { accessKeyId: "test", secretAccessKey: "test" }) =>
  new SecretsManagerClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
const sm = client();
const unique = (prefix) => `${prefix}/${Math.random().toString(36).slice(2, 10)}`;

async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  assert.fail("the call should have failed");
}

test("create, get, put and stages", async () => {
  const name = unique("js");
  const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: "v1" }));
  assert.match(created.ARN, new RegExp(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-[A-Za-z0-9]{6}$`));
  const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
  assert.equal(got.SecretString, "v1");
  assert.deepEqual(got.VersionStages, ["AWSCURRENT"]);
  assert.ok(got.CreatedDate instanceof Date);
  const put = await sm.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: "v2" }));
  assert.deepEqual(put.VersionStages, ["AWSCURRENT"]);
  const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  assert.deepEqual(described.VersionIdsToStages[created.VersionId], ["AWSPREVIOUS"]);
  assert.deepEqual(described.VersionIdsToStages[put.VersionId], ["AWSCURRENT"]);
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: name,
      VersionStage: "AWSCURRENT",
      MoveToVersionId: created.VersionId,
      RemoveFromVersionId: put.VersionId,
    }),
  );
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, "v1");
});

test("binary values", async () => {
  const name = unique("jsbin");
  await sm.send(new CreateSecretCommand({ Name: name, SecretBinary: new Uint8Array([0, 1, 2, 255]) }));
  const got = await sm.send(new GetSecretValueCommand({ SecretId: name }));
  assert.deepEqual(Array.from(got.SecretBinary), [0, 1, 2, 255]);
});

test("list with the paginator and batch get", async () => {
  const prefix = unique("jslist");
  for (let i = 0; i < 5; i++) {
    await sm.send(new CreateSecretCommand({ Name: `${prefix}/${i}`, SecretString: `v${i}` }));
  }
  const names = [];
  for await (const page of paginateListSecrets({ client: sm, pageSize: 2 }, { Filters: [{ Key: "name", Values: [prefix] }] })) {
    names.push(...page.SecretList.map((s) => s.Name));
  }
  assert.deepEqual(names, [0, 1, 2, 3, 4].map((i) => `${prefix}/${i}`));
  const batch = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: [`${prefix}/0`, `${prefix}/nope`] }));
  assert.equal(batch.SecretValues[0].SecretString, "v0");
  assert.equal(batch.Errors[0].ErrorCode, "ResourceNotFoundException");
});

test("tagging answers with an empty body the SDK accepts", async () => {
  const name = unique("jstag");
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: "x" }));
  await sm.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: "k", Value: "v" }] }));
  const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  assert.deepEqual(described.Tags, [{ Key: "k", Value: "v" }]);
});

test("errors carry AWS's names, messages and status", async () => {
  assert.deepEqual(await failure(sm.send(new GetSecretValueCommand({ SecretId: unique("missing") }))), {
    name: "ResourceNotFoundException",
    message: "Secrets Manager can't find the specified secret.",
    status: 400,
  });
  const name = unique("jsdel");
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: "x" }));
  await sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
  const marked = await failure(sm.send(new GetSecretValueCommand({ SecretId: name })));
  assert.equal(marked.name, "InvalidRequestException");
  assert.equal(marked.message, "You can't perform this operation on the secret because it was marked for deletion.");
  const invalid = await failure(sm.send(new DescribeSecretCommand({ SecretId: "Inv Name" })));
  assert.equal(invalid.name, "ValidationException");
});

test("a wrong secret key fails signature verification", async () => {
  const bad = client({ accessKeyId: "test", secretAccessKey: "wrong" });
  const e = await failure(bad.send(new ListSecretsCommand({})));
  assert.equal(e.name, "InvalidSignatureException");
  assert.equal(e.status, 400);
});
