// Side-by-side sync benchmark: the same survey responses pushed by one client and
// pulled by a fresh one, against
//   ours            target/release/server-e2e + target/release/peer-client
//   automerge-repo  an automerge-repo sync server (automerge-server.mjs) + automerge-repo clients
//   pouchdb         pouchdb-server + PouchDB replication
// each server on 127.0.0.1 behind a byte-counting proxy (proxy.mjs).
//
//   node bench/peers/run.mjs [--docs 10000] [--systems ours,automerge-repo,pouchdb]
//                            [--timeout-s 600] [--also-docs 1000] [--docs-file FILE]
//                            [--am-flavor repo-2|sync-server-0.2.8] [--keep]
//
// Progress goes to stderr, one Markdown table to stdout, raw results to
// bench/peers/results/latest.json. See README.md.

import { spawn, spawnSync } from "node:child_process"
import fs from "node:fs"
import net from "node:net"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { startProxy } from "./proxy.mjs"
import { parseArgs } from "./lib/common.mjs"

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "../..")
const args = parseArgs()
const N = Number(args.docs ?? 10000)
const ALL = ["ours", "automerge-repo", "pouchdb"]
const systems = String(args.systems ?? ALL.join(",")).split(",").map((s) => s.trim()).filter(Boolean)
for (const s of systems) if (!ALL.includes(s)) die(`unknown system ${s}; choose from ${ALL.join(",")}`)
const timeoutS = Number(args["timeout-s"] ?? 600)
// automerge-repo is always also run at this size (it is known to struggle at 10,000);
// ours too, so that row has a like-for-like ratio.
const alsoDocs = Number(args["also-docs"] ?? 1000)
const amFlavor = args["am-flavor"] ?? "repo-2"
const keep = !!args.keep
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(repoRoot, process.env.CARGO_TARGET_DIR)
  : path.join(repoRoot, "target")
const bin = {
  server: path.join(targetDir, "release", "server-e2e"),
  client: path.join(targetDir, "release", "peer-client"),
}
const ADMIN_PASSWORD = "admin-test-password"

function die(msg) {
  process.stderr.write(`run.mjs: ${msg}\n`)
  process.exit(1)
}
const t00 = performance.now()
function progress(msg) {
  const el = ((performance.now() - t00) / 1000).toFixed(0).padStart(5)
  process.stderr.write(`[${el} s] ${msg}\n`)
}

// ---------------------------------------------------------------- processes

const children = new Set()
function track(child) {
  children.add(child)
  child.on("exit", () => children.delete(child))
  return child
}
let cleanupDirs = []
function cleanup() {
  for (const c of children) {
    try {
      c.kill("SIGKILL")
    } catch {}
  }
  if (!keep) for (const d of cleanupDirs) fs.rmSync(d, { recursive: true, force: true })
}
process.on("SIGINT", () => {
  progress("interrupted; stopping child processes")
  cleanup()
  process.exit(130)
})

function peakMiB(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const m = status.match(/^VmHWM:\s+(\d+)\s+kB/m)
    return m ? Number(m[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

function dirBytes(dir) {
  let total = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) total += dirBytes(p)
    else if (e.isFile()) total += fs.statSync(p).size
  }
  return total
}

async function freePort() {
  const srv = net.createServer()
  await new Promise((r) => srv.listen(0, "127.0.0.1", r))
  const { port } = srv.address()
  await new Promise((r) => srv.close(r))
  return port
}

/**
 * Start a long-running server process (the command itself, never a shell, so its pid is
 * the server's). Resolves once `ready(line)` returns a port for a stdout line, or once
 * `poll()` succeeds. Keeps draining stdout/stderr; remembers the last lines for errors.
 */
async function startServer(name, cmd, argv, { cwd, readyLine, pollUrl, startTimeoutMs = 60_000 }) {
  const child = track(spawn(cmd, argv, { cwd, stdio: ["ignore", "pipe", "pipe"] }))
  const tail = []
  const remember = (buf) => {
    for (const line of buf.toString().split("\n")) {
      if (!line.trim()) continue
      tail.push(line)
      if (tail.length > 20) tail.shift()
    }
  }
  let exit = null
  const exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      exit = { code, signal }
      resolve(exit)
    }),
  )
  let peak
  const sampler = setInterval(() => {
    const p = peakMiB(child.pid)
    if (p !== undefined) peak = p
  }, 500)
  exited.then(() => clearInterval(sampler))
  const server = {
    name,
    child,
    pid: child.pid,
    tail,
    exited,
    get exit() {
      return exit
    },
    peakMiB: () => {
      const p = peakMiB(child.pid)
      if (p !== undefined) peak = p
      return peak
    },
    stop: async () => {
      clearInterval(sampler)
      if (exit) return
      child.kill("SIGTERM")
      const t = setTimeout(() => child.kill("SIGKILL"), 5000)
      await exited
      clearTimeout(t)
    },
  }
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${startTimeoutMs / 1000} s`)), startTimeoutMs)
    child.on("error", (e) => reject(new Error(`${name}: ${e.message}`)))
    exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited during start (code ${code}, signal ${signal}): ${tail.slice(-5).join(" | ")}`)),
    )
    child.stdout.on("data", (buf) => {
      remember(buf)
      if (readyLine) {
        const port = readyLine(buf.toString())
        if (port) {
          clearTimeout(timer)
          resolve(port)
        }
      }
    })
    child.stderr.on("data", remember)
    if (pollUrl) {
      const tick = async () => {
        if (exit) return
        try {
          const res = await fetch(pollUrl.url)
          if (res.ok) {
            clearTimeout(timer)
            return resolve(pollUrl.port)
          }
        } catch {}
        setTimeout(tick, 200)
      }
      tick()
    }
  })
  server.port = port
  server.url = `http://127.0.0.1:${port}`
  return server
}

/**
 * Run one timed client phase as its own process. Resolves to
 * { ok, ms, wallMs, result } or { ok: false, failure: "..." } — never throws.
 */
async function runPhase(label, cmd, argv, { server, timeoutMs }) {
  const start = performance.now()
  progress(`${label}: started`)
  let child
  try {
    child = track(spawn(cmd, argv, { cwd: here, stdio: ["ignore", "pipe", "pipe"] }))
  } catch (e) {
    return { ok: false, failure: `crashed: ${e.message}` }
  }
  let stdout = ""
  const errTail = []
  let timedFrom = null
  child.stdout.on("data", (b) => {
    stdout += b.toString()
    // Our node clients announce the end of their untimed setup; the phase timeout then
    // counts from there (setup had its own budget of the same length).
    if (timedFrom === null && stdout.includes('{"event":"timed-start"}')) {
      timedFrom = performance.now()
      progress(`${label}: setup done in ${((timedFrom - start) / 1000).toFixed(1)} s; timed section started`)
      clearTimeout(timer)
      timer = setTimeout(onTimeout, timeoutMs)
    }
  })
  child.stderr.on("data", (b) => {
    for (const line of b.toString().split("\n")) {
      if (!line.trim()) continue
      errTail.push(line)
      if (errTail.length > 20) errTail.shift()
      process.stderr.write(`    ${label} | ${line}\n`)
    }
  })
  const ticker = setInterval(() => progress(`${label}: ${((performance.now() - start) / 1000).toFixed(0)} s elapsed`), 30_000)
  let timedOut = false
  let serverDied = false
  const onTimeout = () => {
    timedOut = true
    child.kill("SIGKILL")
  }
  let timer = setTimeout(onTimeout, timeoutMs)
  let finished = false
  const onServerExit = () => {
    if (finished) return
    serverDied = true
    // Give the client a moment to notice and report, then stop it.
    setTimeout(() => child.kill("SIGKILL"), 2000)
  }
  server.exited.then(onServerExit)
  const { code, signal, error } = await new Promise((resolve) => {
    child.on("error", (e) => resolve({ error: e }))
    child.on("exit", (code, signal) => resolve({ code, signal }))
  })
  finished = true
  clearTimeout(timer)
  clearInterval(ticker)
  const wallMs = performance.now() - start
  const line = stdout
    .split("\n")
    .reverse()
    .find((l) => l.trim().startsWith("{") && l.includes('"phase"'))
  let result
  try {
    result = line ? JSON.parse(line) : undefined
  } catch {}
  const quiet = errTail.filter((l) => !/\d+ s( elapsed)?$/.test(l))
  const lastErr = [...quiet].reverse().find((l) => /error|panic|fatal/i.test(l)) ?? quiet.slice(-1)[0] ?? ""
  let failure
  if (timedOut) failure = timedFrom === null ? `setup did not finish in ${Math.round(timeoutMs / 1000)} s` : `did not finish in ${Math.round(timeoutMs / 1000)} s`
  else if (serverDied && !(code === 0 && result)) {
    const e = server.exit
    const why = [...server.tail].reverse().find((l) => /error|panic|fatal|killed|out of memory/i.test(l)) ?? server.tail.slice(-1)[0] ?? ""
    const when = timedFrom === null ? "during setup" : `${((performance.now() - timedFrom) / 1000).toFixed(0)} s into the timed section`
    failure = `server crashed ${when} (exit ${e?.code ?? e?.signal}): ${why.trim()}`.slice(0, 200)
  } else if (error) failure = `crashed: ${error.message}`
  else if (code !== 0 || !result) failure = `crashed (exit ${code ?? signal}): ${lastErr}`.slice(0, 200)
  if (failure) {
    progress(`${label}: FAILED after ${(wallMs / 1000).toFixed(1)} s: ${failure}`)
    return { ok: false, failure, wallMs, setupMs: timedFrom === null ? undefined : timedFrom - start, timedMsBeforeFailure: timedFrom === null ? undefined : performance.now() - timedFrom }
  }
  progress(`${label}: done, ${(result.ms / 1000).toFixed(2)} s`)
  return { ok: true, ms: result.ms, wallMs, setupMs: timedFrom === null ? undefined : timedFrom - start, result }
}

// ---------------------------------------------------------------- systems

const nodeBin = process.execPath

const SYSTEMS = {
  ours: {
    describe: "server-e2e (Rust; SQLite on disk) + peer-client device stores (SQLite files)",
    async start(work) {
      return startServer(
        "server-e2e",
        bin.server,
        ["serve", "--bind", "127.0.0.1:0", "--data-dir", path.join(work, "server"), "--admin-password", ADMIN_PASSWORD, "--log-level", "warn"],
        {
          cwd: work,
          readyLine: (text) => text.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1],
        },
      )
    },
    phases(ctx) {
      const { proxy, server, work, docs } = ctx
      const common = ["--url", proxy.url, "--direct-url", server.url]
      return [
        ["push", bin.client, ["push", ...common, "--store", path.join(work, "push.db"), "--count", String(docs)]],
        ["pull", bin.client, ["pull", ...common, "--store", path.join(work, "pull.db"), "--expect", String(docs)]],
        ["reconnect", bin.client, ["reconnect", ...common, "--store", path.join(work, "pull.db")]],
      ]
    },
  },
  "automerge-repo": {
    describe: `automerge-repo sync server (automerge-server.mjs, flavor ${amFlavor}; NodeFS storage on disk) + automerge-repo 2.5.6 clients (in memory)`,
    async start(work) {
      return startServer(
        "automerge-server",
        nodeBin,
        [path.join(here, "automerge-server.mjs"), "--dir", path.join(work, "server"), "--port", "0", "--flavor", amFlavor],
        {
          cwd: work,
          readyLine: (text) => text.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1],
        },
      )
    },
    phases(ctx) {
      const { proxy, work, docs, docsFile } = ctx
      const ws = `ws://127.0.0.1:${proxy.port}`
      const ids = path.join(work, "ids.json")
      return [
        ["push", nodeBin, [path.join(here, "automerge-push.mjs"), "--url", ws, "--docs", docsFile, "--count", String(docs), "--ids-out", ids]],
        ["pull", nodeBin, [path.join(here, "automerge-pull.mjs"), "--url", ws, "--docs", docsFile, "--ids", ids, "--expect", String(docs)]],
      ]
    },
  },
  pouchdb: {
    describe: "pouchdb-server 4.2.0 (LevelDB on disk) + PouchDB 9.0.0 clients (memory adapter)",
    async start(work) {
      const port = await freePort()
      const server = await startServer(
        "pouchdb-server",
        nodeBin,
        [
          path.join(here, "node_modules/pouchdb-server/bin/pouchdb-server"),
          "--host", "127.0.0.1",
          "--port", String(port),
          "--dir", path.join(work, "server"),
          "--config", path.join(work, "config.json"),
          "--no-stdout-logs",
        ],
        { cwd: work, pollUrl: { url: `http://127.0.0.1:${port}/`, port } },
      )
      // Setup, not through the proxy: create the database.
      const res = await fetch(`${server.url}/responses`, { method: "PUT" })
      if (!res.ok) throw new Error(`pouchdb-server: creating the database: HTTP ${res.status} ${await res.text()}`)
      return server
    },
    phases(ctx) {
      const { proxy, docs, docsFile } = ctx
      const remote = `${proxy.url}/responses`
      return [
        ["push", nodeBin, [path.join(here, "pouchdb-push.mjs"), "--remote", remote, "--docs", docsFile, "--count", String(docs)]],
        ["pull", nodeBin, [path.join(here, "pouchdb-pull.mjs"), "--remote", remote, "--docs", docsFile, "--expect", String(docs)]],
      ]
    },
  },
}

async function runSystem(system, docs, docsFile) {
  const label = `${system} ${docs}`
  const row = { system, docs, phases: {}, describe: SYSTEMS[system].describe }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `bench-peers-${system}-`))
  cleanupDirs.push(work)
  let server, proxy
  try {
    progress(`${label}: starting server`)
    server = await SYSTEMS[system].start(work)
    proxy = await startProxy({ targetPort: Number(server.port) })
    progress(`${label}: server pid ${server.pid} on ${server.url}, proxy ${proxy.url}`)
    const ctx = { proxy, server, work, docs, docsFile }
    for (const [phase, cmd, argv] of SYSTEMS[system].phases(ctx)) {
      if (server.exit) {
        row.phases[phase] = { ok: false, failure: "skipped: server not running" }
        continue
      }
      if (phase !== "push" && !row.phases.push?.ok) {
        row.phases[phase] = { ok: false, failure: "skipped: push did not finish" }
        continue
      }
      proxy.reset()
      const r = await runPhase(`${label} ${phase}`, cmd, argv, { server, timeoutMs: timeoutS * 1000 })
      const c = proxy.counters()
      row.phases[phase] = { ...r, bytesUp: c.up, bytesDown: c.down, connections: c.connections }
    }
    row.serverPeakMiB = server.peakMiB()
    if (server.exit) row.serverExit = { ...server.exit, tail: server.tail.slice(-5) }
    try {
      row.serverDiskBytes = dirBytes(path.join(work, "server"))
    } catch {}
  } catch (e) {
    row.error = e.message
    progress(`${label}: ERROR ${e.message}`)
  } finally {
    await proxy?.close()
    await server?.stop()
    if (!keep) fs.rmSync(work, { recursive: true, force: true })
    cleanupDirs = cleanupDirs.filter((d) => d !== work)
  }
  return row
}

// ---------------------------------------------------------------- table

const fmtS = (ms) => (ms / 1000).toFixed(2)
function fmtBytes(b) {
  if (b === undefined) return "—"
  if (b >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(2)} MiB`
  if (b >= 1024) return `${(b / 1024).toFixed(1)} KiB`
  return `${b} B`
}
const ratio = (x) => (x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`)

function summarize(row) {
  const push = row.phases.push
  const pull = row.phases.pull
  const s = { ...row }
  s.complete = !!(push?.ok && pull?.ok)
  const phases = [push, pull].filter(Boolean)
  s.bytesUp = phases.reduce((a, p) => a + (p.bytesUp ?? 0), 0)
  s.bytesDown = phases.reduce((a, p) => a + (p.bytesDown ?? 0), 0)
  s.totalMs = s.complete ? push.ms + pull.ms : undefined
  return s
}

function table(rows) {
  const byKey = new Map(rows.map((r) => [`${r.system}/${r.docs}`, r]))
  const header = [
    "system", "docs", "push s", "pull s", "push+pull s", "bytes up", "bytes down",
    "bytes total per doc", "server peak MiB", "ours faster by (push+pull ratio)", "bytes ratio (peer/ours)",
  ]
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`]
  for (const r of rows) {
    const cell = (p) => (!p ? "—" : p.ok ? fmtS(p.ms) : p.failure)
    const partial = r.complete ? "" : " (partial)"
    const anyBytes = Object.keys(r.phases).length > 0
    const ours = byKey.get(`ours/${r.docs}`)
    let faster = "—"
    let bytesRatio = "—"
    if (r.system === "ours") {
      faster = r.complete ? "1×" : "—"
      bytesRatio = r.complete ? "1×" : "—"
    } else if (ours?.complete) {
      faster = r.complete ? ratio(r.totalMs / ours.totalMs) : "n/a (peer did not finish)"
      bytesRatio = r.complete ? ratio((r.bytesUp + r.bytesDown) / (ours.bytesUp + ours.bytesDown)) : "—"
    } else if (ours) {
      faster = "n/a (ours did not finish)"
    }
    lines.push(
      `| ${[
        r.system === "automerge-repo" && amFlavor !== "repo-2" ? `automerge-repo (${amFlavor})` : r.system,
        r.docs.toLocaleString("en-US"),
        r.error ? `error: ${r.error}` : cell(r.phases.push),
        cell(r.phases.pull),
        r.complete ? fmtS(r.totalMs) : "—",
        anyBytes ? fmtBytes(r.bytesUp) + partial : "—",
        anyBytes ? fmtBytes(r.bytesDown) + partial : "—",
        r.complete ? Math.round((r.bytesUp + r.bytesDown) / r.docs).toLocaleString("en-US") : "—",
        r.serverPeakMiB !== undefined ? r.serverPeakMiB.toFixed(0) : "—",
        faster,
        bytesRatio,
      ].join(" | ")} |`,
    )
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------- main

function versions() {
  const v = (p) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(here, "node_modules", p, "package.json"), "utf8")).version
    } catch {
      return undefined
    }
  }
  return {
    node: process.version,
    "@automerge/automerge-repo": v("@automerge/automerge-repo"),
    "@automerge/automerge": v("@automerge/automerge"),
    "@automerge/automerge-repo-sync-server (components, flavor sync-server-0.2.8)": v("@automerge/automerge-repo-sync-server"),
    "pouchdb-server": v("pouchdb-server"),
    "pouchdb-core (client)": v("pouchdb-core"),
  }
}

async function main() {
  if (!fs.existsSync(path.join(here, "node_modules"))) die(`run \`npm ci --prefix bench/peers\` first`)
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-peers-run-"))
  cleanupDirs.push(runDir)
  const amSmall = systems.includes("automerge-repo") && alsoDocs > 0 && alsoDocs < N

  // The documents: `peer-client docs` writes the same responses `peer-client push` records.
  let docsFile = args["docs-file"]
  const needed = systems.includes("ours") ? [bin.server, bin.client] : docsFile ? [] : [bin.client]
  for (const b of needed) {
    if (!fs.existsSync(b)) {
      die(
        `${b} is missing: run \`cargo build --release -p scenarios --bins\` from the repository root first` +
          (systems.includes("ours") ? "" : " (or pass --docs-file FILE)"),
      )
    }
  }
  if (docsFile) {
    if (systems.includes("ours")) die("--docs-file cannot be used with ours: peer-client push records its own responses, so all systems must use `peer-client docs`")
    docsFile = path.resolve(docsFile)
  } else {
    docsFile = path.join(runDir, "docs.jsonl")
    progress(`writing ${N} documents with peer-client docs`)
    const r = spawnSync(bin.client, ["docs", "--count", String(N), "--out", docsFile], { stdio: ["ignore", "inherit", "inherit"] })
    if (r.status !== 0) die(`peer-client docs failed (exit ${r.status ?? r.signal})`)
  }
  const docLines = fs.readFileSync(docsFile, "utf8").split("\n").filter((l) => l.trim()).length
  if (docLines < N) die(`${docsFile} has ${docLines} documents, fewer than --docs ${N}`)
  progress(`documents: ${docsFile} (${N} used, ${(fs.statSync(docsFile).size / docLines).toFixed(0)} bytes of JSON each on average)`)

  const plan = []
  for (const s of systems) {
    if (amSmall && (s === "automerge-repo" || s === "ours")) plan.push([s, alsoDocs])
    plan.push([s, N])
  }
  const rows = []
  for (const [s, n] of plan) rows.push(summarize(await runSystem(s, n, docsFile)))

  // Sort: by docs, ours first.
  rows.sort((a, b) => a.docs - b.docs || ALL.indexOf(a.system) - ALL.indexOf(b.system))
  const out = table(rows)
  process.stdout.write(out + "\n")

  for (const r of rows) {
    if (r.system === "ours" && r.phases.reconnect) {
      const p = r.phases.reconnect
      progress(`ours ${r.docs}: reconnect with nothing new: ${p.ok ? p.ms.toFixed(1) + " ms" : p.failure}, ${fmtBytes(p.bytesUp)} up, ${fmtBytes(p.bytesDown)} down`)
    }
  }
  const resultsDir = path.join(here, "results")
  fs.mkdirSync(resultsDir, { recursive: true })
  const json = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadavg: os.loadavg() },
    options: { docs: N, systems, timeoutS, alsoDocs, amFlavor },
    versions: versions(),
    table: out,
    rows,
  }
  fs.writeFileSync(path.join(resultsDir, "latest.json"), JSON.stringify(json, null, 2) + "\n")
  progress(`raw results: ${path.relative(process.cwd(), path.join(resultsDir, "latest.json"))}`)
  cleanup()
}

main().catch((e) => {
  process.stderr.write(`run.mjs: ${e.stack ?? e}\n`)
  cleanup()
  process.exit(1)
})
