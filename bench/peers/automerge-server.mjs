// The automerge-repo sync server, bound to 127.0.0.1.
//
// Why not run `@automerge/automerge-repo-sync-server` (0.2.8) as published? Its
// src/server.js calls `app.listen(PORT)` with no host, so it binds every interface, and
// it offers no option or environment variable for the bind address (only PORT and
// DATA_DIR). This script is that file's server minus express (which only served a
// "server is running" page): the same components, configured the same way:
//   - a `ws` WebSocketServer ({ noServer: true }) fed by an http server's "upgrade" event,
//   - Repo({ network: [new NodeWSServerAdapter(wss)], storage: new NodeFSStorageAdapter(dir),
//            peerId: `storage-server-${hostname}`, sharePolicy: async () => false })
// and it listens on 127.0.0.1.
//
// --flavor repo-2 (default) takes those components from the automerge-repo 2.5.6 line
//   (the versions the clients use; @automerge/automerge 3.5.0).
// --flavor sync-server-0.2.8 takes them from the copies nested under
//   node_modules/@automerge/automerge-repo-sync-server/node_modules, i.e. exactly the
//   versions the published sync server would run (automerge-repo 1.2.1, automerge 2.2.9).
//
// Prints `listening on http://127.0.0.1:PORT` once it accepts connections.

import fs from "node:fs"
import http from "node:http"
import os from "node:os"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { WebSocketServer } from "ws"
import { parseArgs, required } from "./lib/common.mjs"

const args = parseArgs()
const dir = required(args, "dir")
const port = Number(args.port ?? 0)
const flavor = args.flavor ?? "repo-2"

const here = path.dirname(fileURLToPath(import.meta.url))
async function load(pkg) {
  if (flavor === "repo-2") return import(pkg)
  if (flavor === "sync-server-0.2.8") {
    const base = path.join(here, "node_modules/@automerge/automerge-repo-sync-server/node_modules", pkg)
    const manifest = JSON.parse(fs.readFileSync(path.join(base, "package.json"), "utf8"))
    const exp = manifest.exports?.["."]
    const entry =
      (typeof exp === "string" ? exp : exp?.import?.default ?? exp?.import ?? exp?.default) ??
      manifest.module ??
      manifest.main
    return import(pathToFileURL(path.join(base, typeof entry === "string" ? entry : entry.default)).href)
  }
  throw new Error(`unknown --flavor ${flavor}`)
}

const { Repo } = await load("@automerge/automerge-repo")
const { NodeWSServerAdapter } = await load("@automerge/automerge-repo-network-websocket")
const { NodeFSStorageAdapter } = await load("@automerge/automerge-repo-storage-nodefs")

fs.mkdirSync(dir, { recursive: true })
const wss = new WebSocketServer({ noServer: true })
const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `storage-server-${os.hostname()}`,
  // As in the published server: a server does not share generously; it syncs only the
  // documents that a peer asks for by id (or pushes to it).
  sharePolicy: async () => false,
})

const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" })
  res.end("automerge-repo sync server is running\n")
})
server.on("upgrade", (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request))
})
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port} (flavor ${flavor})`)
})

const stop = () => {
  wss.close()
  server.close()
  void repo.shutdown?.()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
