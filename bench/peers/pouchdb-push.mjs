// PouchDB push client.
//
//   node pouchdb-push.mjs --remote http://127.0.0.1:PORT/responses --docs docs.jsonl --count N
//
// Not timed: a fresh in-memory local database gets every response with bulkDocs (one
// document per response, `_id` = the response id; the equivalent of recording offline).
// Timed: `PouchDB.replicate(local, remote)` (one-shot, default options: batches of 100)
// until it completes, i.e. the server has acknowledged every `_bulk_docs` batch and
// the replication checkpoint has been written. The remote database is created before
// this process runs, not through the proxy.

import PouchDB from "./lib/pouch.mjs"
import { parseArgs, required, readDocs, report, timedStart, log } from "./lib/common.mjs"

const args = parseArgs()
const remoteUrl = required(args, "remote")
const count = Number(required(args, "count"))
const docs = await readDocs(required(args, "docs"), count)

const local = new PouchDB(`push-${process.pid}`, { adapter: "memory" })
const res = await local.bulkDocs(docs.map((d) => ({ _id: d.id, answers: d.answers })))
const failed = res.filter((r) => r.error)
if (failed.length) throw new Error(`bulkDocs failed for ${failed.length} documents: ${JSON.stringify(failed[0])}`)
log(`pouchdb push: ${docs.length} documents written locally`)

const remote = new PouchDB(remoteUrl, { adapter: "http", skip_setup: true })
timedStart()
const t0 = performance.now()
const interval = setInterval(() => {
  log(`pouchdb push: ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}, 10_000)
const result = await PouchDB.replicate(local, remote)
const ms = performance.now() - t0
clearInterval(interval)
if (!result.ok || result.docs_written !== docs.length) {
  log(`pouchdb push: replication result ${JSON.stringify(result)}`)
  process.exit(2)
}
report({ phase: "push", docs: result.docs_written, ms })
process.exit(0)
