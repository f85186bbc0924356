// automerge-repo pull client: a fresh Repo (no storage, nothing local) fetches every
// document by id from the server and checks its content.
//
//   node automerge-pull.mjs --url ws://127.0.0.1:PORT --docs docs.jsonl --ids ids.json --expect N
//
// An automerge-repo server does not announce documents (its share policy is false), so
// the client must know the ids: ids.json is written by the push client. The client's
// share policy is what makes it request them: the Repo begins syncing (sending a
// "request") a document with a peer only if the policy says to share it with that peer.
// Timed: from adding the WebSocket adapter until every `repo.find(url)` has resolved
// and every document's content matches docs.jsonl (the id, and the number of answers,
// repeat rows and answers in them).

import fs from "node:fs"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { parseArgs, required, readDocs, report, timedStart, shape, log } from "./lib/common.mjs"

const args = parseArgs()
const url = required(args, "url")
const expect = Number(required(args, "expect"))
const ids = JSON.parse(fs.readFileSync(required(args, "ids"), "utf8")).slice(0, expect)
const docs = await readDocs(required(args, "docs"), expect)
const expected = new Map(docs.map((d) => [d.id, shape(d.answers)]))
if (ids.length !== expect) throw new Error(`ids file has ${ids.length} ids, expected ${expect}`)

// Request exactly the listed documents from the server (the only peer).
const wanted = new Set()
const repo = new Repo({
  network: [],
  sharePolicy: async (_peerId, documentId) => documentId === undefined || wanted.has(documentId),
})
timedStart()
const t0 = performance.now()
repo.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url))

let ok = 0
let bad = 0
const interval = setInterval(() => {
  log(`automerge pull: ${ok}/${ids.length} documents, ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}, 10_000)
await Promise.all(
  ids.map(async ({ url: docUrl, id }) => {
    wanted.add(docUrl.replace(/^automerge:/, "").split("#")[0])
    const handle = await repo.find(docUrl)
    const doc = handle.doc()
    if (doc?.id === id && shape(doc.answers) === expected.get(id)) ok += 1
    else {
      bad += 1
      if (bad <= 3) log(`automerge pull: content mismatch for ${docUrl}: ${JSON.stringify(doc).slice(0, 200)}`)
    }
  }),
)
const ms = performance.now() - t0
clearInterval(interval)
if (bad > 0 || ok !== expect) {
  log(`automerge pull: ${ok} documents correct, ${bad} wrong, expected ${expect}`)
  process.exit(2)
}
report({ phase: "pull", docs: ok, ms })
process.exit(0)
