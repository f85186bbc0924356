// A byte-counting TCP proxy. Every system's timed client traffic goes through one of
// these, so "bytes up/down" is measured the same way for all of them: payload bytes
// read from the client socket (client -> server, "up") and from the server socket
// (server -> client, "down"). TCP/IP headers are not counted; HTTP headers, WebSocket
// framing and TLS-free protocol overhead are (they are bytes on the socket).
//
// Usage:
//   import { startProxy } from "./proxy.mjs"
//   const proxy = await startProxy({ targetHost: "127.0.0.1", targetPort: 1234 })
//   proxy.url            // "http://127.0.0.1:<port>"
//   proxy.reset()        // zero the counters
//   proxy.counters()     // { up, down, connections }
//   await proxy.close()

import net from "node:net"

export async function startProxy({ targetHost = "127.0.0.1", targetPort, listenHost = "127.0.0.1" }) {
  if (!targetPort) throw new Error("startProxy: targetPort is required")
  let up = 0
  let down = 0
  let connections = 0
  const sockets = new Set()

  const server = net.createServer((client) => {
    connections += 1
    const upstream = net.connect({ host: targetHost, port: targetPort })
    sockets.add(client)
    sockets.add(upstream)
    client.setNoDelay(true)
    upstream.setNoDelay(true)

    client.on("data", (chunk) => {
      up += chunk.length
      if (!upstream.write(chunk)) client.pause()
    })
    upstream.on("drain", () => client.resume())
    upstream.on("data", (chunk) => {
      down += chunk.length
      if (!client.write(chunk)) upstream.pause()
    })
    client.on("drain", () => upstream.resume())

    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
    }
    // Half-close is passed on so HTTP/1.1 and WebSocket shutdowns look the same as direct.
    client.on("end", () => upstream.end())
    upstream.on("end", () => client.end())
    client.on("error", closeBoth)
    upstream.on("error", closeBoth)
    client.on("close", () => {
      sockets.delete(client)
      upstream.end()
    })
    upstream.on("close", () => {
      sockets.delete(upstream)
      client.end()
    })
  })

  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, listenHost, resolve)
  })
  const { port } = server.address()

  return {
    port,
    host: listenHost,
    url: `http://${listenHost}:${port}`,
    counters: () => ({ up, down, connections }),
    reset: () => {
      up = 0
      down = 0
      connections = 0
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

// Run stand-alone: node proxy.mjs TARGET_PORT [TARGET_HOST]; prints counters on SIGINT.
if (import.meta.url === `file://${process.argv[1]}`) {
  const targetPort = Number(process.argv[2])
  const targetHost = process.argv[3] ?? "127.0.0.1"
  const proxy = await startProxy({ targetHost, targetPort })
  console.log(`proxy ${proxy.url} -> ${targetHost}:${targetPort}`)
  process.on("SIGINT", async () => {
    console.log(JSON.stringify(proxy.counters()))
    await proxy.close()
    process.exit(0)
  })
}
