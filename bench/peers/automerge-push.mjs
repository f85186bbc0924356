// automerge-repo push client: one Repo, one Automerge document per survey response.
//
//   node automerge-push.mjs --url ws://127.0.0.1:PORT --docs docs.jsonl --count N --ids-out ids.json
//
// Not timed: reading docs.jsonl and creating the N documents in a Repo that has no
// network adapter yet (the equivalent of recording the responses offline).
// Timed: from adding the WebSocket client adapter (connect) until the server holds
// every document.
//
// How "the server holds every document" is known (automerge-repo 2.x): the server's
// peer metadata carries its storage id (it has a storage adapter, so it is not
// ephemeral). Every time a sync message from a peer updates our sync state for a
// document, the Repo records `theirHeads` as that storage id's heads on the handle
// (`handle.setSyncInfo(storageId, { lastHeads })`, which emits "remote-heads"). The
// server only reports heads it has: its heads equal ours only after it has received
// and applied all of our changes. So a document is pushed when
// `handle.getSyncInfo(serverStorageId).lastHeads` equals `handle.heads()`, and the
// push is done when that holds for all N. This is the server's in-memory state; its
// NodeFS storage writes each document shortly after (throttled, 100 ms by default).
// The pull phase, a fresh process, then checks every document's content on the server.
// This needs no "remote heads gossiping" (that feature is for third-party peers).

import fs from "node:fs"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { parseArgs, required, readDocs, report, timedStart, log } from "./lib/common.mjs"

const args = parseArgs()
const url = required(args, "url")
const count = Number(required(args, "count"))
const docs = await readDocs(required(args, "docs"), count)
const idsOut = required(args, "ids-out")

// Offline: a Repo with no network and no storage; create every document.
const repo = new Repo({ network: [], sharePolicy: async () => true })
const handles = docs.map((d) => repo.create({ id: d.id, answers: d.answers }))
fs.writeFileSync(idsOut, JSON.stringify(handles.map((h, i) => ({ url: h.url, id: docs[i].id }))))
log(`automerge push: ${handles.length} documents created offline`)

const sameHeads = (a, b) => !!a && !!b && a.length === b.length && a.every((h) => b.includes(h))

timedStart()
const t0 = performance.now()
let remaining = handles.length
const done = new Promise((resolve) => {
  let serverStorageId
  const pending = new Set(handles)
  const check = (handle) => {
    if (!pending.has(handle) || !serverStorageId) return
    if (sameHeads(handle.getSyncInfo(serverStorageId)?.lastHeads, handle.heads())) {
      pending.delete(handle)
      remaining = pending.size
      if (remaining === 0) resolve()
    }
  }
  for (const h of handles) {
    h.on("remote-heads", ({ storageId }) => {
      if (storageId === serverStorageId) check(h)
    })
  }
  repo.networkSubsystem.on("peer", ({ peerId, peerMetadata }) => {
    if (!peerMetadata?.storageId) {
      log(`automerge push: peer ${peerId} has no storage id; cannot detect completion`)
      process.exit(3)
    }
    serverStorageId = peerMetadata.storageId
    log(`automerge push: connected to ${peerId} (storage ${serverStorageId})`)
    for (const h of handles) check(h)
  })
})

// Connect: adding the adapter makes the Repo begin syncing every document with the new peer.
repo.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url))
const interval = setInterval(() => {
  log(`automerge push: ${handles.length - remaining}/${handles.length} acknowledged, ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}, 10_000)
await done
const ms = performance.now() - t0
clearInterval(interval)
report({ phase: "push", docs: handles.length, ms })
process.exit(0)
