// Small helpers shared by the benchmark's client and server scripts.
import fs from "node:fs"
import readline from "node:readline"

/** Parse `--key value` / `--flag` arguments into an object (keys keep their dashes). */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith("--")) throw new Error(`unexpected argument: ${a}`)
    const eq = a.indexOf("=")
    if (eq > 0) {
      out[a.slice(2, eq)] = a.slice(eq + 1)
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
      out[a.slice(2)] = argv[++i]
    } else {
      out[a.slice(2)] = true
    }
  }
  return out
}

export function required(args, key) {
  if (args[key] === undefined || args[key] === true) {
    throw new Error(`missing --${key}`)
  }
  return args[key]
}

/** The first `count` responses of a docs.jsonl file: [{ id, answers }]. */
export async function readDocs(file, count = Infinity) {
  const docs = []
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })
  for await (const line of rl) {
    if (!line.trim()) continue
    const doc = JSON.parse(line)
    if (typeof doc.id !== "string" || typeof doc.answers !== "object") {
      throw new Error(`${file}: line ${docs.length + 1} is not {"id":..., "answers":{...}}`)
    }
    docs.push(doc)
    if (docs.length >= count) break
  }
  rl.close()
  if (Number.isFinite(count) && docs.length < count) {
    throw new Error(`${file} has ${docs.length} documents, fewer than the ${count} asked for`)
  }
  return docs
}

/**
 * A cheap but complete content fingerprint of a response's answers: the number of
 * top-level answers, the number of repeat-group rows and the number of answers in them.
 * Pull clients compare it for every document against docs.jsonl.
 */
export function shape(answers) {
  let top = 0
  let rows = 0
  let nested = 0
  for (const [, v] of Object.entries(answers ?? {})) {
    top += 1
    if (Array.isArray(v)) {
      rows += v.length
      for (const row of v) nested += Object.keys(row ?? {}).length
    }
  }
  return `${top}/${rows}/${nested}`
}

/** Tells run.mjs that the untimed setup is over: its phase timeout counts from here. */
export function timedStart() {
  process.stdout.write(JSON.stringify({ event: "timed-start" }) + "\n")
}

/** One JSON result line on stdout, in the same shape as `peer-client`'s. */
export function report(obj) {
  const ru = process.resourceUsage()
  process.stdout.write(JSON.stringify({ ...obj, client_max_rss_kib: ru.maxRSS }) + "\n")
}

export function log(...parts) {
  process.stderr.write(parts.join(" ") + "\n")
}
