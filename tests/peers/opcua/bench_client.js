// node-opcua's own client for scripts/bench opcua: the same measurements as
// bench/opcua/opcua_bench.cc, printing the same JSON lines with "client":"node-opcua".
// Usage: node bench_client.js --url=opc.tcp://127.0.0.1:PORT --mode=read|subscribe
//          [--nodes=1000] [--batch=100] [--seconds=5] [--publishing-ms=100] [--sampling-ms=25]
"use strict";
const { OPCUAClient, AttributeIds, TimestampsToReturn, MessageSecurityMode, SecurityPolicy, ClientMonitoredItemGroup } =
  require("node-opcua-client");

const arg = (name, fallback) => {
  const a = process.argv.slice(2).find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
};
const url = arg("url", "");
const mode = arg("mode", "read");
const nodes = parseInt(arg("nodes", "1000"), 10);
const batch = parseInt(arg("batch", "100"), 10);
const seconds = parseFloat(arg("seconds", "5"));
const publishingMs = parseFloat(arg("publishing-ms", "100"));
const samplingMs = parseFloat(arg("sampling-ms", "25"));
if (!url) {
  console.error("usage: node bench_client.js --url=URL [--mode=read|subscribe] ...");
  process.exit(2);
}
const fail = (message) => {
  console.error(`bench_client.js: ${message}`);
  process.exit(1);
};
const now = () => Number(process.hrtime.bigint()) / 1e9;
const nodeId = (i) => `ns=1;s=Changing.V${i}`;

async function runRead(session) {
  const all = [];
  for (let i = 0; i < nodes; i++) all.push({ nodeId: nodeId(i), attributeId: AttributeIds.Value });
  let values = 0, requests = 0, next = 0;
  const start = now();
  while (now() - start < seconds) {
    const items = [];
    for (let i = 0; i < batch; i++) items.push(all[(next + i) % nodes]);
    next = (next + batch) % nodes;
    const read = await session.read(items, 0);
    for (const dv of read) {
      if (dv.statusCode.value !== 0) fail(`a value read is ${dv.statusCode.name}`);
    }
    values += read.length;
    requests++;
  }
  const elapsed = now() - start;
  console.log(JSON.stringify({ client: "node-opcua", mode: "read", batch, nodes, seconds: elapsed, values, requests,
    values_per_s: values / elapsed, requests_per_s: requests / elapsed }));
}

async function runSubscribe(session) {
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: publishingMs, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 100,
    maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 0,
  });
  let count = 0;
  const items = [];
  for (let i = 0; i < nodes; i++) items.push({ nodeId: nodeId(i), attributeId: AttributeIds.Value });
  const createdAt = now();
  const group = await ClientMonitoredItemGroup.create(subscription, items,
    { samplingInterval: samplingMs, queueSize: 10, discardOldest: true }, TimestampsToReturn.Both);
  const createS = now() - createdAt;
  group.on("changed", () => { count++; });
  // Drain the initial values (one per item) before measuring.
  const drainStart = now();
  while (count < nodes) {
    if (now() - drainStart > 30) fail(`only ${count} initial values in 30 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const base = count;
  const start = now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = now() - start;
  const notifications = count - base;
  console.log(JSON.stringify({ client: "node-opcua", mode: "subscribe", nodes, seconds: elapsed, notifications,
    notifications_per_s: notifications / elapsed, create_monitored_items_s: createS }));
  await subscription.terminate();
}

async function main() {
  const client = OPCUAClient.create({
    endpointMustExist: false, securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 0 }, requestedSessionTimeout: 60000, keepSessionAlive: false,
  });
  await client.connect(url);
  const session = await client.createSession();
  if (mode === "read") await runRead(session);
  else if (mode === "subscribe") await runSubscribe(session);
  else fail("--mode must be read or subscribe");
  await session.close();
  await client.disconnect();
}

main().catch((e) => fail(e.stack || String(e)));
