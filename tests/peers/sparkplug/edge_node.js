// A Sparkplug B edge node for the Shopfloor tests: mqtt.js for MQTT and sparkplug-payload
// (the Eclipse Tahu JavaScript encoder) for the payloads, so Shopfloor's decoder is proven
// against an independent implementation.
//
//   node edge_node.js --port P --user U --password W --group G --node N --device D
//
// Driven line by line on stdin; reports on stdout, one JSON object per line:
//   connect        connect (will: NDEATH with bdSeq), subscribe to NCMD, DCMD and STATE
//   birth          NBIRTH (seq 0, bdSeq, node metrics) and DBIRTH of the device
//   data NAME VAL  DDATA of one device metric, by alias
//   ndata VAL      NDATA of the node metric "Supply/Voltage", by alias
//   gap            skip one sequence number (the next message is out of order)
//   badalias       DDATA with an alias no birth declared
//   ddeath         DDEATH of the device
//   drop           close the socket without DISCONNECT: the broker publishes the will
//   quit           disconnect cleanly and exit
// Reports: {"event":"connected"}, {"event":"state", ...} (host STATE), {"event":"ncmd", ...},
// {"event":"dcmd", ...}, {"event":"rebirth"} (births sent again after a rebirth request),
// {"event":"ok","cmd":...} after each command, {"event":"error", ...}.
// A DCMD is applied: the device reports the commanded value back in a DDATA.
'use strict';

const mqtt = require('mqtt');
const sparkplug = require('sparkplug-payload').get('spBv1.0');
const readline = require('readline');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const group = args.group, node = args.node, device = args.device;
const ns = 'spBv1.0';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// The device's metrics: name -> {alias, type, value}. Every scalar datatype the spec has.
const metrics = {
  FillVolume: {alias: 10, type: 'Float', value: 500.25},
  Count: {alias: 11, type: 'UInt32', value: 4000000000},
  Running: {alias: 12, type: 'Boolean', value: true},
  Recipe: {alias: 13, type: 'String', value: 'cola-330'},
  Offset: {alias: 14, type: 'Int16', value: -1234},
  Total: {alias: 15, type: 'Int64', value: -9000000000},
  Speed: {alias: 16, type: 'Double', value: 1.5},
  Setpoint: {alias: 17, type: 'Double', value: 72.0},
  Small: {alias: 18, type: 'Int8', value: -5},
  Word: {alias: 19, type: 'UInt16', value: 65000},
  Big: {alias: 20, type: 'UInt64', value: 123456789012},
  Stamp: {alias: 21, type: 'DateTime', value: 1700000000000},
  Note: {alias: 22, type: 'Text', value: 'line note'},
  Serial: {alias: 23, type: 'UUID', value: '0f8fad5b-d9cb-469f-a165-70867728950e'},
  Int32Value: {alias: 24, type: 'Int32', value: -100000},
  UInt8Value: {alias: 25, type: 'UInt8', value: 200},
  NewMetric: {alias: 26, type: 'Double', value: 3.25, properties: {engUnit: {type: 'String', value: 'mm'}}},
};
const nodeMetrics = {'Supply/Voltage': {alias: 1, type: 'Float', value: 24.0}};

let client = null;
let seq = 0;
let bdSeq = 0;
const nextSeq = () => { const s = seq; seq = (seq + 1) % 256; return s; };
const now = () => Date.now();

function publish(type, dev, payload) {
  const topic = `${ns}/${group}/${type}/${node}` + (dev ? `/${dev}` : '');
  client.publish(topic, sparkplug.encodePayload(payload), {qos: 0});
}

function births() {
  seq = 0;
  const nm = [{name: 'bdSeq', type: 'Int64', value: bdSeq},
              {name: 'Node Control/Rebirth', type: 'Boolean', value: false}];
  for (const [name, m] of Object.entries(nodeMetrics)) nm.push({name, alias: m.alias, type: m.type, value: m.value});
  publish('NBIRTH', null, {timestamp: now(), seq: nextSeq(), metrics: nm});
  const dm = [];
  for (const [name, m] of Object.entries(metrics)) {
    const metric = {name, alias: m.alias, type: m.type, value: m.value, timestamp: now()};
    if (m.properties) metric.properties = m.properties;
    dm.push(metric);
  }
  publish('DBIRTH', device, {timestamp: now(), seq: nextSeq(), metrics: dm});
}

function connect(done) {
  const will = sparkplug.encodePayload({timestamp: now(), metrics: [{name: 'bdSeq', type: 'Int64', value: bdSeq}]});
  client = mqtt.connect(`mqtt://127.0.0.1:${args.port}`, {
    username: args.user, password: args.password, clientId: `${group}-${node}`, clean: true, reconnectPeriod: 0,
    protocolVersion: 4, will: {topic: `${ns}/${group}/NDEATH/${node}`, payload: will, qos: 1, retain: false},
  });
  client.on('error', (e) => out({event: 'error', message: String(e.message || e)}));
  client.on('message', (topic, message) => {
    if (topic.startsWith(`${ns}/STATE/`)) {
      out({event: 'state', topic, ...JSON.parse(message.toString())});
      return;
    }
    const payload = sparkplug.decodePayload(message);
    const ms = payload.metrics.map((m) => ({name: m.name, type: m.type, value: toJson(m.value)}));
    if (topic.includes('/NCMD/')) {
      out({event: 'ncmd', metrics: ms});
      if (ms.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) {
        births();
        out({event: 'rebirth'});
      }
    } else if (topic.includes('/DCMD/')) {
      out({event: 'dcmd', device: topic.split('/')[4], metrics: ms});
      const reported = [];
      for (const m of payload.metrics) {
        const known = metrics[m.name];
        if (!known) continue;
        known.value = toJson(m.value);
        reported.push({alias: known.alias, type: known.type, value: known.value, timestamp: now()});
      }
      if (reported.length) publish('DDATA', device, {timestamp: now(), seq: nextSeq(), metrics: reported});
    }
  });
  client.on('connect', () => {
    client.subscribe([`${ns}/${group}/NCMD/${node}`, `${ns}/${group}/DCMD/${node}/#`, `${ns}/STATE/#`], {qos: 1},
                     (err) => {
                       if (err) out({event: 'error', message: String(err)});
                       out({event: 'connected'});
                       done();
                     });
  });
}

function toJson(v) {
  if (v && typeof v === 'object' && typeof v.toNumber === 'function') return v.toNumber();  // Long
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function parse(text) {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return Number.isNaN(n) ? text : n;
}

const rl = readline.createInterface({input: process.stdin});
rl.on('line', (line) => {
  const [cmd, a, b] = line.trim().split(/\s+/);
  const ok = () => out({event: 'ok', cmd});
  switch (cmd) {
    case 'connect': connect(ok); return;
    case 'birth': births(); break;
    case 'data': {
      const m = metrics[a];
      m.value = parse(b);
      publish('DDATA', device, {timestamp: now(), seq: nextSeq(), metrics: [{alias: m.alias, type: m.type, value: m.value}]});
      break;
    }
    case 'ndata': {
      const m = nodeMetrics['Supply/Voltage'];
      m.value = parse(a);
      publish('NDATA', null, {timestamp: now(), seq: nextSeq(), metrics: [{alias: m.alias, type: m.type, value: m.value}]});
      break;
    }
    case 'gap': nextSeq(); break;
    case 'badalias':
      publish('DDATA', device, {timestamp: now(), seq: nextSeq(), metrics: [{alias: 999, type: 'Double', value: 1}]});
      break;
    case 'ddeath': publish('DDEATH', device, {timestamp: now(), seq: nextSeq()}); break;
    case 'drop':
      client.stream.destroy();
      bdSeq = (bdSeq + 1) % 256;
      break;
    case 'quit':
      client.end(false, () => process.exit(0));
      return;
    default:
      out({event: 'error', message: `unknown command ${cmd}`});
      return;
  }
  // Commands complete once mqtt.js has handed everything to the socket.
  setImmediate(ok);
});
rl.on('close', () => process.exit(0));
