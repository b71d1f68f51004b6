/**
 * Importing a user's `.ts` file (a scenario or an experiment) so that it cannot hang the CLI: the
 * file must be a regular file within the scenario size limit (see `Input`), and its top level must
 * finish within a time limit (20 s by default; `QVSIM_LOAD_TIMEOUT_MS` changes it). A module
 * still loading then (a loop at its top level, a promise that never settles) is reported as bad
 * input and its execution stopped.
 *
 * How a busy main thread is stopped: a watchdog worker waits on a shared flag; when the time is
 * up it tells the main thread (a message, taken at once if the main thread is idle) and, if the
 * main thread does not take it within 250 ms (it is busy running the module), it ends that
 * execution through the inspector (`Runtime.terminateExecution`); the main thread then takes the
 * message and fails the load. The flag is settled by compare-and-swap, so a module that finishes
 * just as the time runs out is either loaded or refused, never both.
 *
 * @module
 */
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { closeSync } from "node:fs"
import * as Input from "./Input.ts"
import { ScenarioError } from "./Scenario.ts"

/** The load time limit, ms. */
export const loadTimeoutMs = (): number => {
  const text = process.env["QVSIM_LOAD_TIMEOUT_MS"]
  const n = text === undefined || text === "" ? 20_000 : Number(text)
  if (!Number.isSafeInteger(n) || n <= 0) throw new ScenarioError(`QVSIM_LOAD_TIMEOUT_MS=${text}: expected a positive integer number of ms`)
  return n
}

const LOADING = 0, LOADED = 1, TIMED_OUT = 2, TAKEN = 3

// The watchdog (CommonJS, evaluated in a worker thread).
const WATCHDOG = `
const { parentPort, workerData } = require("node:worker_threads")
const flag = new Int32Array(workerData.flag)
if (Atomics.wait(flag, 0, ${LOADING}, workerData.timeoutMs) === "timed-out" &&
    Atomics.compareExchange(flag, 0, ${LOADING}, ${TIMED_OUT}) === ${LOADING}) {
  parentPort.postMessage("timeout")
  if (Atomics.wait(flag, 0, ${TIMED_OUT}, 250) === "timed-out") {
    try {
      const inspector = require("node:inspector")
      const session = new inspector.Session()
      session.connectToMainThread()
      session.post("Runtime.terminateExecution", () => session.disconnect())
    } catch {
      require("node:fs").writeSync(2, "qvsim: " + workerData.message + "\\n")
      process.kill(process.pid, "SIGKILL")
    }
  }
  setTimeout(() => {}, 1000)
}
`

/** Imports the module at `path` (an absolute path), refusing one that is not a regular file or does not load in time. */
export const importModule = async (path: string, what: string): Promise<{ default?: unknown }> => {
  const lim = Input.limits()
  closeSync(Input.openRegular(path, what, lim.scenarioBytes, "QVSIM_MAX_SCENARIO_BYTES", ScenarioError).fd)
  const timeoutMs = loadTimeoutMs()
  const message = `${what} ${path} did not finish loading within ${timeoutMs / 1000} s (a loop at its top level? set QVSIM_LOAD_TIMEOUT_MS to wait longer)`
  const shared = new SharedArrayBuffer(4)
  const flag = new Int32Array(shared)
  const watchdog = new Worker(WATCHDOG, { eval: true, workerData: { flag: shared, timeoutMs, message } })
  watchdog.unref()
  const timedOut = new Promise<never>((_resolve, reject) => {
    watchdog.on("message", () => {
      Atomics.store(flag, 0, TAKEN)
      Atomics.notify(flag, 0)
      reject(new ScenarioError(message))
    })
  })
  timedOut.catch(() => {})
  const loading = import(pathToFileURL(path).href).then(
    (mod: { default?: unknown }) => {
      // Loaded in time (else the watchdog's message decides).
      if (Atomics.compareExchange(flag, 0, LOADING, LOADED) !== LOADING) return timedOut
      Atomics.notify(flag, 0)
      return mod
    },
    (e: unknown) => {
      if (Atomics.compareExchange(flag, 0, LOADING, LOADED) !== LOADING) return timedOut
      Atomics.notify(flag, 0)
      throw new ScenarioError(`cannot load ${what} ${path}: ${((e as Error)?.message ?? String(e)).split("\n")[0]}`)
    },
  )
  try {
    return await Promise.race([loading, timedOut])
  } finally {
    void watchdog.terminate()
  }
}
