/**
 * `npm run campaign -- fuzz [--cases N] [--seed S] [--cli-every K] [--limit-ms T] [--memory-mb M] [--only i,j] [--out DIR]`:
 * generates bad and valid-but-odd scenarios, traces and command lines (from the scenario JSON
 * Schema and by mutating the built-ins, the experiments' variants and real traces; seeded,
 * fast-check), runs each in-process (through the CLI's own pipeline, in a worker process) and every
 * K-th through the real `qvsim` executable (heap limit, SIGTERM at the time limit, SIGKILL 10 s
 * later), and classifies the outcomes (`fuzz/Classify.ts`): exit 2 with one line, exit 0, a run
 * stopped at its time limit, exit 3 (a model invariant: listed for review), or a failure (crash,
 * hang, stack trace, internal error). Exit 0 when there is no failure, 1 otherwise.
 *
 * Long runs share the machine: `nice -n 10 npm run campaign -- fuzz --cases 20000`.
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeFileSync, mkdtempSync } from "node:fs"
import * as Campaign from "./fuzz/Campaign.ts"

export const summary = "fuzz the CLI with generated bad and odd inputs (scenarios, traces, flags); every outcome must be exit 2 (one line), 0, or a reviewed invariant"

export const usage = `npm run campaign -- fuzz [flags]
  --cases N       cases to run (default 1000)
  --seed S        campaign seed (default: drawn and printed)
  --cli-every K   also run every K-th case through the qvsim executable (default 25; 0: never)
  --limit-ms T    stop a case after T ms of wall time, as SIGTERM would (default 8000)
  --memory-mb M   heap limit of the worker and of each executable run, MiB (default 1024)
  --only i,j      only these case numbers (replay a failure)
  --workers W     worker processes running cases side by side (default 1)
  --out DIR       where to keep the report and failing cases (default: a new folder in the OS temp folder)`

/** Thrown for a bad flag: one line, exit 2. */
class UsageError extends Error {
  override readonly name = "UsageError"
}

const int = (flag: string, text: string | undefined, min: number, max: number): number => {
  const n = Number(text)
  if (text === undefined || text.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${JSON.stringify(text ?? "")}: expected an integer in [${min}, ${max}]`)
  return n
}

export const parse = (argv: readonly string[]): Campaign.Options & { readonly outGiven: boolean } => {
  const o: { seed?: number; cases: number; cliEvery: number; limitMs: number; memoryMb: number; only?: number[]; out?: string; workers: number } = { cases: 1000, cliEvery: 25, limitMs: 8000, memoryMb: 1024, workers: 1 }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    const value = argv[i + 1]
    switch (flag) {
      case "--cases": o.cases = int(flag, value, 1, 10_000_000); i++; break
      case "--seed": o.seed = int(flag, value, 0, 2 ** 31 - 1); i++; break
      case "--cli-every": o.cliEvery = int(flag, value, 0, 1_000_000); i++; break
      case "--limit-ms": o.limitMs = int(flag, value, 100, 3_600_000); i++; break
      case "--memory-mb": o.memoryMb = int(flag, value, 64, 65_536); i++; break
      case "--workers": o.workers = int(flag, value, 1, 64); i++; break
      case "--only": o.only = (value ?? "").split(",").map((x) => int(flag, x, 0, 10_000_000)); i++; break
      case "--out": if (value === undefined) throw new UsageError("--out: missing value"); o.out = value; i++; break
      default: throw new UsageError(`${flag}: unknown flag (known: --cases, --seed, --cli-every, --limit-ms, --memory-mb, --only, --workers, --out)`)
    }
  }
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31)
  return { seed, cases: o.cases, workers: o.workers, cliEvery: o.cliEvery, limitMs: o.limitMs, memoryMb: o.memoryMb, ...(o.only !== undefined ? { only: o.only } : {}), workDir: o.out ?? mkdtempSync(join(tmpdir(), `qvsim-fuzz-${seed}-`)), outGiven: o.out !== undefined }
}

export const main = async (argv: readonly string[]): Promise<number> => {
  let options: ReturnType<typeof parse>
  try {
    options = parse(argv)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    console.error(`campaign fuzz: ${e.message}`)
    return 2
  }
  console.log(`fuzz campaign: seed ${options.seed} (replay with --seed ${options.seed}), ${options.only?.length ?? options.cases} cases, work folder ${options.workDir}`)
  const report = await Campaign.run({ ...options, log: (l) => console.log(l) })
  writeFileSync(join(options.workDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`)
  console.log(Campaign.format(report))
  console.log(`report: ${join(options.workDir, "report.json")}; failing cases' folders under ${options.workDir}`)
  return report.failures.length === 0 ? 0 : 1
}
