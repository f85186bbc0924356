// PouchDB pull client.
//
//   node pouchdb-pull.mjs --remote http://127.0.0.1:PORT/responses --docs docs.jsonl --expect N
//
// Timed: a fresh in-memory database replicates from the remote (one-shot, default
// options) until replication completes and every document is read back and checked
// against docs.jsonl (the id, and the number of answers, repeat rows and answers in them).

import PouchDB from "./lib/pouch.mjs"
import { parseArgs, required, readDocs, report, timedStart, shape, log } from "./lib/common.mjs"

const args = parseArgs()
const remoteUrl = required(args, "remote")
const expect = Number(required(args, "expect"))
const docs = await readDocs(required(args, "docs"), expect)
const expected = new Map(docs.map((d) => [d.id, shape(d.answers)]))

const local = new PouchDB(`pull-${process.pid}`, { adapter: "memory" })
const remote = new PouchDB(remoteUrl, { adapter: "http", skip_setup: true })
timedStart()
const t0 = performance.now()
const interval = setInterval(() => {
  log(`pouchdb pull: ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}, 10_000)
const result = await PouchDB.replicate(remote, local)
const all = await local.allDocs({ include_docs: true })
let ok = 0
for (const row of all.rows) {
  if (shape(row.doc.answers) === expected.get(row.id)) ok += 1
}
const ms = performance.now() - t0
clearInterval(interval)
if (!result.ok || ok !== expect || all.rows.length !== expect) {
  log(`pouchdb pull: ${ok} of ${all.rows.length} documents correct, expected ${expect}; ${JSON.stringify(result).slice(0, 300)}`)
  process.exit(2)
}
report({ phase: "pull", docs: ok, ms })
process.exit(0)
