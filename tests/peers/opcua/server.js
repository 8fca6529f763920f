// node-opcua server for the Shopfloor OPC UA client tests.
// Usage: node server.js PORT [MAX_NODES_PER_READ] [--changing=N] [--change-ms=MS] [--max-translate=N]
//        [--allow-anonymous-transfer=1]
// Listens on 127.0.0.1:PORT with SecurityPolicy None, anonymous login allowed and one user
// (operator/secret). Namespace "urn:shopfloor:test" holds Plant/Scalars (every built-in
// scalar type, read-only, known values), Plant/Arrays, Plant/Setpoints/Speed (writable
// Double), Plant/Setpoints/Clamped (a writable Double the server clamps to 0..100),
// Plant/Setpoints/Slow (a writable Double that answers writes after 4 s; SlowWrites counts
// them) and Plant/Area1/Line1/Cell1 (a folder tree). Plant/Deadband holds writable Doubles
// for deadband tests: Abs (no EURange) and Pct (an AnalogItem with EURange 0..200 and
// EngineeringUnits degree Celsius, "°C"). --max-translate=N publishes
// MaxNodesPerTranslateBrowsePathsToNodeIds = N (the server refuses larger requests).
// --allow-anonymous-transfer=1 lets TransferSubscriptions move a subscription between
// anonymous sessions on SecurityPolicy None (refused with BadUserAccessDenied otherwise).
// --changing=N adds Plant/Changing/V0..V(N-1), Doubles that all step by 1 every MS
// milliseconds (default 200), value i + step, for subscription tests.
// --secure also offers SecurityPolicy Basic256Sha256 with modes Sign and SignAndEncrypt
// (client certificates are accepted automatically). --pki=DIR keeps the server's certificate
// store in DIR (kept at exit, so a restart keeps the certificate; a new DIR means a new
// certificate); by default a temporary folder is used and removed at exit.
// Prints "ready" once listening.
"use strict";
const path = require("path");
const os = require("os");
const fs = require("fs");
const { OPCUAServer } = require("node-opcua-server");
const { DataType, Variant, VariantArrayType } = require("node-opcua-variant");
const { StatusCodes } = require("node-opcua-status-code");
const { OPCUACertificateManager } = require("node-opcua-certificate-manager");
const { QualifiedName, LocalizedText } = require("node-opcua-data-model");
const { coerceNodeId } = require("node-opcua-nodeid");
const { standardUnits } = require("node-opcua-data-access");

const port = parseInt(process.argv[2], 10);
const maxNodesPerRead = parseInt(process.argv[3] || "0", 10);
const flag = (name, fallback) => {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return arg ? parseInt(arg.split("=")[1], 10) : fallback;
};
const changing = flag("changing", 0);
const changeMs = flag("change-ms", 200);
const secure = process.argv.includes("--secure");
const pkiArg = process.argv.slice(2).find((a) => a.startsWith("--pki="));
const maxTranslate = flag("max-translate", 0);
const allowAnonymousTransfer = flag("allow-anonymous-transfer", 0) === 1;
if (!(port > 0)) {
  console.error("usage: node server.js PORT [MAX_NODES_PER_READ]");
  process.exit(2);
}

// One PKI folder per port so tests running in parallel do not share files.
const keepPki = pkiArg !== undefined;
const pkiRoot = keepPki ? pkiArg.split("=")[1] : fs.mkdtempSync(path.join(os.tmpdir(), `sf-opcua-pki-${port}-`));
const removePki = () => { if (!keepPki) fs.rmSync(pkiRoot, { recursive: true, force: true }); };

async function main() {
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: pkiRoot, automaticallyAcceptUnknownCertificate: true });
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: path.join(pkiRoot, "user") });
  const server = new OPCUAServer({
    port,
    hostname: "127.0.0.1",
    alternateHostname: ["127.0.0.1"],
    serverCertificateManager,
    userCertificateManager,
    securityPolicies: secure
      ? ["http://opcfoundation.org/UA/SecurityPolicy#None", "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"]
      : ["http://opcfoundation.org/UA/SecurityPolicy#None"],
    securityModes: secure ? [1, 2, 3] : [1],  // MessageSecurityMode None, Sign, SignAndEncrypt
    allowAnonymous: true,
    userManager: { isValidUser: (user, password) => user === "operator" && password === "secret" },
    serverCapabilities: {
      operationLimits: {
        ...(maxNodesPerRead > 0 ? { maxNodesPerRead } : {}),
        ...(maxTranslate > 0 ? { maxNodesPerTranslateBrowsePathsToNodeIds: maxTranslate } : {}),
      },
    },
    buildInfo: { productName: "shopfloor-opcua-peer" },
    allowAnonymousSubscriptionTransferOnUnsecuredChannel: allowAnonymousTransfer,
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const ns = addressSpace.getOwnNamespace();
  const idx = ns.index;

  const plant = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Plant", nodeId: "s=Plant" });
  const scalars = ns.addFolder(plant, { browseName: "Scalars", nodeId: "s=Scalars" });
  const arrays = ns.addFolder(plant, { browseName: "Arrays", nodeId: "s=Arrays" });
  const setpoints = ns.addFolder(plant, { browseName: "Setpoints", nodeId: "s=Setpoints" });
  const area = ns.addFolder(plant, { browseName: "Area1", nodeId: "s=Area1" });
  const line = ns.addFolder(area, { browseName: "Line1", nodeId: "s=Line1" });
  ns.addFolder(line, { browseName: "Cell1", nodeId: "s=Cell1" });

  const sourceTimestamp = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
  const scalarValues = {
    Boolean: true,
    SByte: -100,
    Byte: 200,
    Int16: -30000,
    UInt16: 60000,
    Int32: -2000000000,
    UInt32: 4000000000,
    Int64: [0x00000001, 0x00000002],        // node-opcua's [high, low]: 4294967298
    UInt64: [0xFFFFFFFF, 0xFFFFFFFE],       // 18446744073709551614
    Float: 1.5,
    Double: 3.141592653589793,
    String: "Grüße aus Halle 3",
    DateTime: new Date(Date.UTC(2020, 5, 15, 12, 0, 0, 0)),
    Guid: "72962B91-FA75-4AE6-8D28-B404DC7DAF63",
    ByteString: Buffer.from([0x00, 0x01, 0xfe, 0xff]),
    XmlElement: "<a>b</a>",
    NodeId: coerceNodeId(`ns=${idx};s=Plant`),
    StatusCode: StatusCodes.BadSensorFailure,
    QualifiedName: new QualifiedName({ namespaceIndex: idx, name: "Speed" }),
    LocalizedText: new LocalizedText({ locale: "de-DE", text: "Drehzahl" }),
  };
  for (const [typeName, value] of Object.entries(scalarValues)) {
    const dataType = DataType[typeName];
    const variable = ns.addVariable({
      componentOf: scalars, browseName: typeName, nodeId: `s=Scalars.${typeName}`, dataType: typeName,
      accessLevel: "CurrentRead", userAccessLevel: "CurrentRead",  // read-only (node-opcua's default is writable)
    });
    variable.setValueFromSource(new Variant({ dataType, arrayType: VariantArrayType.Scalar, value }), StatusCodes.Good,
      sourceTimestamp);
  }

  const arrayValues = {
    Double: { dataType: DataType.Double, value: new Float64Array([1.5, -2.25, 1e300]) },
    Int32: { dataType: DataType.Int32, value: new Int32Array([1, -2, 3, 2147483647]) },
    String: { dataType: DataType.String, value: ["alpha", "", "gamma"] },
    Boolean: { dataType: DataType.Boolean, value: [true, false, true] },
  };
  for (const [typeName, spec] of Object.entries(arrayValues)) {
    const variable = ns.addVariable({
      componentOf: arrays, browseName: typeName, nodeId: `s=Arrays.${typeName}`, dataType: typeName, valueRank: 1,
    });
    variable.setValueFromSource(new Variant({ ...spec, arrayType: VariantArrayType.Array }), StatusCodes.Good,
      sourceTimestamp);
  }
  const matrix = ns.addVariable({
    componentOf: arrays, browseName: "Matrix", nodeId: "s=Arrays.Matrix", dataType: "Double", valueRank: 2,
  });
  matrix.setValueFromSource(new Variant({
    dataType: DataType.Double, arrayType: VariantArrayType.Matrix, dimensions: [2, 3],
    value: new Float64Array([1, 2, 3, 4, 5, 6]),
  }));

  ns.addVariable({
    componentOf: setpoints, browseName: "Speed", nodeId: "s=Setpoints.Speed", dataType: "Double",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
    value: { dataType: DataType.Double, value: 10.0 },
  });
  ns.addVariable({
    componentOf: setpoints, browseName: "Label", nodeId: "s=Setpoints.Label", dataType: "String",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
    value: { dataType: DataType.String, value: "initial" },
  });

  // A setpoint the device clamps to 0..100 (a write of 150 is accepted and stores 100).
  let clamped = 50.0;
  ns.addVariable({
    componentOf: setpoints, browseName: "Clamped", nodeId: "s=Setpoints.Clamped", dataType: "Double",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
    value: {
      get: () => new Variant({ dataType: DataType.Double, value: clamped }),
      set: (variant) => {
        clamped = Math.min(100, Math.max(0, variant.value));
        return StatusCodes.Good;
      },
    },
  });

  // A setpoint whose device takes 4 s to answer a write (clients with a shorter timeout never
  // learn the outcome); Plant/Setpoints/SlowWrites counts the writes it received.
  let slow = 0.0;
  let slowWrites = 0;
  ns.addVariable({
    componentOf: setpoints, browseName: "Slow", nodeId: "s=Setpoints.Slow", dataType: "Double",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
    value: {
      get: () => new Variant({ dataType: DataType.Double, value: slow }),
      set: (variant, callback) => {
        slowWrites++;
        setTimeout(() => {
          slow = variant.value;
          callback(null, StatusCodes.Good);
        }, 4000);
      },
    },
  });
  ns.addVariable({
    componentOf: setpoints, browseName: "SlowWrites", nodeId: "s=Setpoints.SlowWrites", dataType: "UInt32",
    value: { get: () => new Variant({ dataType: DataType.UInt32, value: slowWrites }) },
  });

  // Many variables for batched reads.
  const bulk = ns.addFolder(plant, { browseName: "Bulk", nodeId: "s=Bulk" });
  for (let i = 0; i < 200; i++) {
    ns.addVariable({
      componentOf: bulk, browseName: `V${i}`, nodeId: `s=Bulk.V${i}`, dataType: "Int32",
      value: { dataType: DataType.Int32, value: i },
    });
  }

  const deadband = ns.addFolder(plant, { browseName: "Deadband", nodeId: "s=Deadband" });
  ns.addVariable({
    componentOf: deadband, browseName: "Abs", nodeId: "s=Deadband.Abs", dataType: "Double",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
    value: { dataType: DataType.Double, value: 10.0 },
  });
  const pct = ns.addAnalogDataItem({
    componentOf: deadband, browseName: "Pct", nodeId: "s=Deadband.Pct", dataType: "Double",
    engineeringUnitsRange: { low: 0, high: 200 },
    engineeringUnits: standardUnits.degree_celsius,
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
  });
  pct.setValueFromSource(new Variant({ dataType: DataType.Double, value: 100.0 }));

  if (changing > 0) {
    const folder = ns.addFolder(plant, { browseName: "Changing", nodeId: "s=Changing" });
    const variables = [];
    for (let i = 0; i < changing; i++) {
      variables.push(ns.addVariable({
        componentOf: folder, browseName: `V${i}`, nodeId: `s=Changing.V${i}`, dataType: "Double",
      }));
    }
    let step = 0;
    const tick = () => {
      const now = new Date();
      for (let i = 0; i < variables.length; i++) {
        variables[i].setValueFromSource(new Variant({ dataType: DataType.Double, value: i + step }), StatusCodes.Good, now);
      }
      step++;
    };
    tick();
    setInterval(tick, changeMs);
  }

  await server.start();
  console.log("ready");
  const stop = async () => {
    await server.shutdown(0);
    removePki();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  removePki();
  process.exit(1);
});
