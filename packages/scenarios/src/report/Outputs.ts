/**
 * The output files of `qvsim run` (`--trace`, `--perfetto`, `--schedule`, `--jobs`, `--report`) as
 * one all-or-nothing set: each target is checked before the run (`SafeOutput`: a new name or a
 * regular file that is not an input; no directory, FIFO, device or link), written under a
 * temporary name while the run goes on and renamed into place only when the whole run (and the
 * report) succeeded; on any failure every temporary file is removed and no target path is touched.
 *
 * Plain TypeScript: the CLI wraps it in Effect (acquire = {@link open}, release = `abort` on
 * failure).
 *
 * @module
 */
import { rmSync } from "node:fs"
import { resolve } from "node:path"
import { Qvt, Trace } from "@qvsim/sim-core"
import { AtomicFile, OutputError } from "../Files.ts"
import * as Jobs from "../Jobs.ts"
import { checkTarget, type TargetOptions } from "../SafeOutput.ts"
import * as Runner from "../Runner.ts"
import type { Scenario } from "../Scenario.ts"
import { Collector } from "./Collect.ts"
import * as Labels from "./Labels.ts"
import { PerfettoSink } from "./Perfetto.ts"
import type * as Report from "./Report.ts"

/** A file whose writer's `close` keeps it pending: {@link PendingFile.commit} renames it into place. */
export class PendingFile implements Trace.TextWriter, Qvt.ByteWriter {
  private readonly file: AtomicFile
  private committed = false
  /** What the user should know about the target (a link written through under `--force`). */
  readonly notice: string | undefined
  /** The path as given (the file written is {@link path}). */
  readonly given: string
  constructor(path: string, flag: string, options: TargetOptions = {}) {
    const target = checkTarget(path, flag, options)
    this.notice = target.notice
    this.given = path
    try {
      this.file = new AtomicFile(target.path)
    } catch (e) {
      throw new OutputError(`${flag}: ${(e as Error).message}`, (e as OutputError).code)
    }
  }
  get path(): string {
    return this.file.path
  }
  write(data: string | Uint8Array): void {
    this.file.write(data)
  }
  /** The writer is done; the file stays under its temporary name until {@link commit}. */
  close(): void {}
  commit(): void {
    this.file.close()
    this.committed = true
  }
  abort(): void {
    if (!this.committed) this.file.abort()
  }
}

export interface OutputPaths {
  readonly trace?: string | undefined
  readonly perfetto?: string | undefined
  readonly schedule?: string | undefined
  /** `.csv` or `.json` (by extension). */
  readonly jobs?: string | undefined
  readonly report?: string | undefined
}

/** True for a `.qvt` (binary) trace file name; any other is written as JSONL. */
export const isQvt = (path: string): boolean => path.toLowerCase().endsWith(".qvt")

/** A one-line error when two flags name the same file, else undefined. */
export const sameFile = (paths: OutputPaths): string | undefined => {
  const seen = new Map<string, string>()
  for (const [flag, path] of Object.entries(paths)) {
    if (path === undefined) continue
    const key = resolve(path)
    const other = seen.get(key)
    if (other !== undefined) return `--${other} and --${flag} name the same file ${path}`
    seen.set(key, flag)
  }
  return undefined
}

export interface OpenOptions extends OutputPaths, TargetOptions {
  readonly scenario: Scenario
  /** The JSONL trace's header; its identity fields also go to the Perfetto file's `otherData`. */
  readonly header: Trace.TraceHeader
  /** `--perfetto-include` / `--perfetto-exclude`: event categories (see `Perfetto.CATEGORIES`). */
  readonly perfettoInclude?: ReadonlyArray<string>
  readonly perfettoExclude?: ReadonlyArray<string>
}

export class RunOutputs {
  /** Sinks to pass to `Runner.prepare`. */
  readonly sinks: Trace.TraceSink[] = []
  private readonly files: PendingFile[] = []
  private readonly options: OpenOptions
  private readonly collector: Collector | undefined
  private readonly scheduleFile: PendingFile | undefined
  private readonly jobsFile: PendingFile | undefined
  private readonly reportFile: PendingFile | undefined
  private prepared: Runner.Prepared | undefined
  private perfetto: PerfettoSink | undefined

  private constructor(options: OpenOptions) {
    this.options = options
    try {
      if (options.trace !== undefined) {
        const file = this.pending(options.trace, "--trace")
        this.sinks.push(isQvt(options.trace) ? new Qvt.QvtSink(file, options.header) : new Trace.JsonlSink(file, options.header))
      }
      if (options.perfetto !== undefined) {
        const file = this.pending(options.perfetto, "--perfetto")
        const h = options.header
        const clock = { now: (): number => this.prepared?.sim.now ?? 0 }
        this.sinks.push(this.perfetto = new PerfettoSink(file, {
          labels: options.scenario.system !== undefined ? Labels.fromSystem(() => this.prepared?.system) : Labels.fromScenario(options.scenario),
          clock: { get now() { return clock.now() } },
          metadata: { qvsim: h.qvsim, scenario: h.scenario, seed: h.seed, options: h.options },
          ...(options.perfettoInclude !== undefined ? { include: options.perfettoInclude } : {}),
          ...(options.perfettoExclude !== undefined ? { exclude: options.perfettoExclude } : {}),
        }))
      }
      if (options.schedule !== undefined) this.scheduleFile = this.pending(options.schedule, "--schedule")
      if (options.jobs !== undefined) this.jobsFile = this.pending(options.jobs, "--jobs")
      if (options.report !== undefined) {
        this.reportFile = this.pending(options.report, "--report")
        this.collector = new Collector()
        this.sinks.push(this.collector)
      }
    } catch (e) {
      this.abort()
      throw e
    }
  }

  /** Opens the temporary files (errors name the flag); nothing is written to the targets yet. */
  static open(options: OpenOptions): RunOutputs {
    return new RunOutputs(options)
  }

  /** Whether the run must record its executed segments (`--schedule`, `--report`). */
  get recordSchedule(): boolean {
    return this.scheduleFile !== undefined || this.reportFile !== undefined
  }

  /** Whether the run must record its jobs (`--jobs`; `--report` draws their markers and distributions). */
  get recordJobs(): boolean {
    return this.jobsFile !== undefined || this.reportFile !== undefined
  }

  /** The simulation the sinks listen to (the Perfetto sink ends open slices at its clock). */
  bind(prepared: Runner.Prepared): void {
    this.prepared = prepared
  }

  /**
   * After a successful run: writes the schedule and the report, then renames every file into
   * place. `check` runs just before the renames (it may throw to stop, e.g. on a signal).
   */
  async finish(summary: Runner.Summary & { readonly wallMs?: number }, identity?: { readonly hash: string; readonly source: string }, check: () => void = () => {}): Promise<void> {
    const prepared = this.prepared
    if (prepared === undefined) throw new Error("RunOutputs.finish: bind(prepared) was not called")
    if (this.scheduleFile !== undefined) this.scheduleFile.write(Runner.segmentsJson(prepared))
    if (this.jobsFile !== undefined) {
      const rows = prepared.jobs()
      this.jobsFile.write(this.options.jobs!.toLowerCase().endsWith(".json") ? Jobs.toJson(rows) : Jobs.toCsv(rows))
    }
    if (this.reportFile !== undefined) {
      // Loaded only for a report: the charts' modules (vega) take about a second to load.
      const { build } = (await import("./Report.ts")) as typeof Report
      const html = await build({
        scenario: this.options.scenario,
        summary,
        segments: prepared.segments(),
        collected: this.collector!.result(),
        jobs: prepared.jobs(),
        spans: (prepared.system?.recoveries() ?? []).flatMap((r) => r.phases.filter((p) => p.endNs > p.startNs).map((p) => ({ label: `${p.phase} (sandbox ${p.sandbox}, ${r.mode} recovery)`, startNs: p.startNs, endNs: p.endNs }))),
        ...(identity !== undefined ? { identity } : {}),
      })
      this.reportFile.write(html)
    }
    check()
    // All or nothing: if a rename fails, the files already renamed into place are removed again.
    const renamed: PendingFile[] = []
    try {
      for (const f of this.files) {
        f.commit()
        renamed.push(f)
      }
    } catch (e) {
      for (const f of renamed) rmSync(f.path, { force: true })
      this.abort()
      throw e
    }
  }

  /** Targets written through a link (`--force`), then Perfetto rules that did not fit their record kind (see `PerfettoSink.warnings`). */
  get warnings(): ReadonlyArray<string> {
    return [...this.files.flatMap((f) => (f.notice === undefined ? [] : [f.notice])), ...(this.perfetto?.warnings ?? [])]
  }

  /** Drops every temporary file (after a failure). Idempotent. */
  abort(): void {
    for (const f of this.files) f.abort()
  }

  private pending(path: string, flag: string): PendingFile {
    const file = new PendingFile(path, flag, this.options)
    this.files.push(file)
    return file
  }
}
