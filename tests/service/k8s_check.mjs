// Checks Kubernetes manifests field by field against the Kubernetes API
// schema shipped in npm packages, not by eye:
//  - every field must exist in its type (the OpenAPI models of
//    @kubernetes/client-node: attributeTypeMap per type), with the right
//    JSON type, walking every nested object, list and map;
//  - every object must then pass the API's JSON-schema validation
//    (kubernetes-models: required fields, enums such as mountPropagation,
//    formats).
// Prints one TAP line per document; with --expect-fail it passes only if
// every document is rejected (the test's negative control).
//
//   node k8s_check.mjs NODE_MODULES [--expect-fail] FILE.yaml...
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [root, ...args] = process.argv.slice(2);
const expectFail = args[0] === "--expect-fail";
const files = expectFail ? args.slice(1) : args;
const load = (p) => import(pathToFileURL(path.join(root, p)).href);
const yaml = (await load("js-yaml/dist/js-yaml.mjs")).default;
const models = "@kubernetes/client-node/dist/gen/models";

const cache = new Map();
async function model(type) {
  if (!cache.has(type)) {
    const f = path.join(root, models, type + ".js");
    cache.set(type, fs.existsSync(f) ? (await load(path.join(models, type + ".js")))[type] : null);
  }
  return cache.get(type);
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

async function walk(v, type, at, errs) {
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (!Array.isArray(v)) return errs.push(`${at}: expected a list (${type})`);
    for (const [i, x] of v.entries()) await walk(x, m[1], `${at}[${i}]`, errs);
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (!isObj(v)) return errs.push(`${at}: expected a map (${type})`);
    for (const [k, x] of Object.entries(v)) await walk(x, m[1], `${at}.${k}`, errs);
    return;
  }
  switch (type) {
    case "string":
    case "Date":
      if (typeof v !== "string") errs.push(`${at}: expected a string`);
      return;
    case "boolean":
      if (typeof v !== "boolean") errs.push(`${at}: expected true or false`);
      return;
    case "number":
    case "integer":
      if (typeof v !== "number") errs.push(`${at}: expected a number`);
      return;
    case "IntOrString":
      if (typeof v !== "string" && !Number.isInteger(v)) errs.push(`${at}: expected an int or a string`);
      return;
    case "any":
    case "object":
      return;
  }
  const cls = await model(type);
  if (!cls) return errs.push(`${at}: type ${type} is not in the API models`);
  if (!isObj(v)) return errs.push(`${at}: expected an object (${type})`);
  const attrs = cls.getAttributeTypeMap();
  for (const [k, x] of Object.entries(v)) {
    const a = attrs.find((t) => t.baseName === k);
    if (!a) errs.push(`${at}.${k}: no field '${k}' in ${type}`);
    else await walk(x, a.type, `${at}.${k}`, errs);
  }
}

let n = 0, failed = 0;
for (const file of files) {
  const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d);
  for (const doc of docs) {
    const errs = [];
    const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : ["", doc.apiVersion];
    const type = version[0].toUpperCase() + version.slice(1) + doc.kind;
    const what = `${path.basename(file)}: ${doc.kind} ${doc.metadata?.name}`;
    await walk(doc, type, doc.kind, errs);
    // then the API's own JSON-schema validation
    try {
      const mod = await load(`kubernetes-models/${group ? group + "/" : ""}${version}/${doc.kind}.js`);
      new mod[doc.kind](doc).validate();
    } catch (e) {
      errs.push(`schema: ${e.message}`);
    }
    const good = errs.length === 0;
    const pass = expectFail ? !good : good;
    n++;
    if (!pass) failed++;
    console.log(`${pass ? "" : "not "}ok ${n} - ${what} ${good ? "matches" : "is rejected by"} the API schema (${type})`);
    for (const e of errs) console.log(`#   ${e}`);
  }
}
if (n === 0) {
  console.log("not ok 1 - no manifest found");
  n = failed = 1;
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
