/**
 * scripts/cachesim.ts's reading of callgrind's output (one file per dump), its per-event figures,
 * the rule that drops a round with a compile/GC burst, and the naming of JIT code through V8's
 * `--perf-basic-prof` map. No valgrind here: the tests (scripts/test/cachesimParse.test.ts) feed it
 * hand-written dumps.
 *
 * Callgrind's format (valgrind's docs, "Callgrind Format Specification"), the parts read here:
 * - header lines `name: value`: `pid:`, `positions:` (the position columns each cost line starts
 *   with: `line` by default, `instr line` with --dump-instr=yes), `events:` (the names of the cost
 *   columns that follow the positions), `summary:` and `totals:` (the dump's total per event);
 * - position lines: `ob=`, `fl=`, `fi=`, `fe=`, `fn=` and their call forms `cob=`, `cfi=`/`cfl=`,
 *   `cfn=`. With name compression (callgrind's default, --compress-strings=yes) a name's first
 *   appearance is `fn=(12) name` and later ones `fn=(12)`; `fn` and `cfn` share one table (so do the
 *   file kinds, and `ob`/`cob`);
 * - cost lines: the positions (a number, `0x…` address, `+n`/`-n` relative or `*` same; with
 *   --compress-pos=yes), then the costs, trailing zeros left out. A cost line right after a
 *   `calls=` line is the call's inclusive cost, charged to the caller's call site but not its
 *   own (self) cost: it is skipped here, so the functions' self costs sum to the totals.
 * Code without a symbol (V8's JIT code) is named by callgrind by its address, `0x000000002811…`;
 * recursion levels get a suffix `'2` (--separate-recs), dropped here.
 */

/** One dump: its event names, the self cost of each function (by name), its totals. */
export interface Dump {
  pid: number | undefined
  events: string[]
  /** Self cost per function name (callgrind's name, recursion suffix dropped), one entry per event. */
  self: Map<string, number[]>
  /** `totals:` (or `summary:`, or the sum of the self costs when the dump has neither). */
  totals: number[]
}

const COST_START = /^[0-9+\-*]/

/** Parses one callgrind output file's text. */
export const parseCallgrind = (text: string): Dump => {
  let events: string[] = []
  let positions = 1
  let pid: number | undefined
  let summary: number[] | undefined
  let totals: number[] | undefined
  const fnNames = new Map<string, string>()
  const self = new Map<string, number[]>()
  let fn = "???"
  let acc: number[] | undefined
  let skipNext = false
  const nameOf = (spec: string): string => {
    // "(12) name" defines id 12, "(12)" refers to it, "name" is uncompressed.
    const m = /^\((\d+)\)(?:\s+(.*))?$/.exec(spec.trim())
    if (m === null) return spec.trim()
    if (m[2] !== undefined) {
      fnNames.set(m[1]!, m[2])
      return m[2]
    }
    const known = fnNames.get(m[1]!)
    if (known === undefined) throw new Error(`callgrind dump: function id (${m[1]}) used before it was named`)
    return known
  }
  const numbers = (s: string): number[] => s.trim().split(/\s+/).filter((x) => x !== "").map(Number)
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd()
    if (line === "" || line.startsWith("#")) continue
    if (COST_START.test(line) || line.startsWith("0x")) {
      if (skipNext) {
        skipNext = false
        continue
      }
      const cols = line.split(/\s+/)
      if (acc === undefined) {
        acc = self.get(fn) ?? new Array<number>(events.length).fill(0)
        self.set(fn, acc)
      }
      for (let i = 0; i < events.length; i++) {
        const v = cols[positions + i]
        if (v !== undefined) acc[i]! += Number(v)
      }
      continue
    }
    const eq = line.indexOf("=")
    const colon = line.indexOf(":")
    if (eq > 0 && (colon < 0 || eq < colon)) {
      const key = line.slice(0, eq)
      const value = line.slice(eq + 1)
      if (key === "fn") {
        fn = nameOf(value).replace(/'\d+$/, "")
        acc = undefined
      } else if (key === "cfn") {
        nameOf(value) // defines the id for later fn= lines
      } else if (key === "calls") {
        skipNext = true
      }
      continue
    }
    if (colon > 0) {
      const key = line.slice(0, colon)
      const value = line.slice(colon + 1)
      if (key === "events") events = value.trim().split(/\s+/)
      else if (key === "positions") positions = value.trim().split(/\s+/).length
      else if (key === "pid") pid = Number(value)
      else if (key === "summary") summary = numbers(value)
      else if (key === "totals") totals = numbers(value)
    }
  }
  const pad = (xs: number[]): number[] => events.map((_, i) => xs[i] ?? 0)
  let t: number[]
  if (totals !== undefined) t = pad(totals)
  else if (summary !== undefined) t = pad(summary)
  else {
    t = new Array<number>(events.length).fill(0)
    for (const v of self.values()) for (let i = 0; i < t.length; i++) t[i]! += v[i]!
  }
  return { pid, events, self, totals: t }
}

/** JIT code: callgrind's name for code without a symbol (an address), or an unknown function. */
export const isJit = (name: string): boolean => name.startsWith("0x") || name === "???"

/**
 * A round whose non-JIT instructions (V8's C++: compiler, GC, runtime; node; libc; also V8's
 * embedded builtins) exceed this many per simulated event is dropped: a compile or GC burst. Kept
 * rounds of session 17 read ~47 per event, the dropped ones ~1600.
 */
export const BURST_NON_JIT_IR = 300

/** Per simulated event figures of one measured round. */
export interface Round {
  events: number
  /** Each event name of the dump (Ir, Dr, Dw, I1mr, D1mr, D1mw, ILmr, DLmr, DLmw), per simulated event. */
  perEvent: Record<string, number>
  /** Instructions in JIT code, per simulated event. */
  jitIr: number
  /** Instructions elsewhere, per simulated event (the burst rule's figure). */
  nonJitIr: number
  /** nonJitIr > BURST_NON_JIT_IR: a compile/GC burst, left out of the summary. */
  dropped: boolean
}

/** A dump of one round of `events` simulated events: its figures per event and whether it is dropped. */
export const roundOf = (dump: Dump, events: number, limit = BURST_NON_JIT_IR): Round => {
  const ir = dump.events.indexOf("Ir")
  if (ir < 0) throw new Error("callgrind dump: no Ir event")
  const perEvent: Record<string, number> = {}
  dump.events.forEach((e, i) => (perEvent[e] = dump.totals[i]! / events))
  let jit = 0, other = 0
  for (const [name, v] of dump.self) {
    if (isJit(name)) jit += v[ir]!
    else other += v[ir]!
  }
  const nonJitIr = other / events
  return { events, perEvent, jitIr: jit / events, nonJitIr, dropped: nonJitIr > limit }
}

/** The figures cachesim prints per size: label, and how to read them from a round. */
export const FIGURES: ReadonlyArray<{ label: string; of: (r: Round) => number }> = [
  { label: "Ir (instructions)", of: (r) => r.perEvent.Ir ?? 0 },
  { label: "  in JIT code", of: (r) => r.jitIr },
  { label: "Dr (data reads)", of: (r) => r.perEvent.Dr ?? 0 },
  { label: "Dw (data writes)", of: (r) => r.perEvent.Dw ?? 0 },
  { label: "D1 misses", of: (r) => (r.perEvent.D1mr ?? 0) + (r.perEvent.D1mw ?? 0) },
  { label: "  D1 read misses", of: (r) => r.perEvent.D1mr ?? 0 },
  { label: "  D1 write misses", of: (r) => r.perEvent.D1mw ?? 0 },
  { label: "LL data misses", of: (r) => (r.perEvent.DLmr ?? 0) + (r.perEvent.DLmw ?? 0) },
  { label: "LL instr. misses", of: (r) => r.perEvent.ILmr ?? 0 },
  { label: "I1 misses", of: (r) => r.perEvent.I1mr ?? 0 },
]

export interface Spread { median: number; min: number; max: number; n: number }

export const spreadOf = (xs: readonly number[]): Spread => {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 }
  const s = [...xs].sort((a, b) => a - b)
  const h = s.length >> 1
  return { median: s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2, min: s[0]!, max: s[s.length - 1]!, n: s.length }
}

/** Median [min..max] of each figure over the rounds kept (not dropped). */
export const summaryOf = (rounds: readonly Round[]): Map<string, Spread> => {
  const kept = rounds.filter((r) => !r.dropped)
  return new Map(FIGURES.map((f) => [f.label, spreadOf(kept.map(f.of))]))
}

/** One entry of V8's perf map (`/tmp/perf-<pid>.map`, lines `hexStart hexSize name`). */
export interface PerfEntry { start: number; size: number; name: string }

export const parsePerfMap = (text: string): PerfEntry[] => {
  const out: PerfEntry[] = []
  for (const line of text.split("\n")) {
    const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.*)$/.exec(line)
    if (m !== null) out.push({ start: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), name: m[3]! })
  }
  return out
}

/**
 * A namer of callgrind's function names: a JIT address takes the name of the LAST perf map entry
 * covering it (the map is append-only and V8 reuses freed code space, so an address may be covered
 * by several entries over a run; the last is the code that was there at the end, a guess for code
 * measured earlier), prefixed "JS "; an address no entry covers reads "unmapped 0x…".
 */
export const jitNamer = (entries: readonly PerfEntry[], strip = ""): ((name: string) => string) => {
  const cache = new Map<string, string>()
  return (name) => {
    if (!name.startsWith("0x")) return name
    const hit = cache.get(name)
    if (hit !== undefined) return hit
    const a = parseInt(name, 16)
    let r = `unmapped ${name}`
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!
      if (e.start <= a && a < e.start + e.size) {
        r = `JS ${e.name.replace(/^JS:/, "").split(strip).join("")}`
        break
      }
    }
    cache.set(name, r)
    return r
  }
}

/** Self cost per (named) function per simulated event, summed over the kept rounds' dumps. */
export const perFunction = (dumps: ReadonlyArray<{ dump: Dump; round: Round }>, name: (fn: string) => string = (f) => f): Map<string, Record<string, number>> => {
  const sums = new Map<string, number[]>()
  let events = 0
  let names: string[] = []
  for (const { dump, round } of dumps) {
    if (round.dropped) continue
    events += round.events
    names = dump.events
    for (const [fn, v] of dump.self) {
      const k = name(fn)
      const a = sums.get(k) ?? new Array<number>(v.length).fill(0)
      for (let i = 0; i < v.length; i++) a[i]! += v[i]!
      sums.set(k, a)
    }
  }
  const out = new Map<string, Record<string, number>>()
  for (const [k, v] of sums) {
    const r: Record<string, number> = {}
    names.forEach((e, i) => (r[e] = v[i]! / events))
    out.set(k, r)
  }
  return out
}
