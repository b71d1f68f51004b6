import { defineScenario } from "../Scenario.ts"

/**
 * A many-core machine (issue 15): 64 cores under x2APIC addressing, one sandbox per core, each
 * with one periodic thread on its Main VCPU that computes, writes its mailbox to the next sandbox
 * of a ring and reads the one from the previous; the NIC shared by all 64 sandboxes, with ping
 * hosts on sandboxes 0, 37 and 63 (beyond the Quest driver's 4 sharers); at 100 ms sandbox 9's NIC
 * driver is corrupted and recovered locally 5 ms later (inside the fingerprint pin's 200 ms).
 *
 * `manycore(n)` is the same for n sandboxes (3..64: a ring needs three): pingers on sandbox 0,
 * the sandbox 58 % of the way up and the last one; the fault in sandbox min(9, n − 1). The
 * benchmark (bench/manycore.bench.ts) builds it for 4, 16 and 64.
 */
export const manycore = (sandboxes: number) => {
  if (!Number.isInteger(sandboxes) || sandboxes < 3 || sandboxes > 64) throw new RangeError(`manycore(${sandboxes}): 3..64 sandboxes`)
  const ring = (i: number): string => `ring${i}`
  const pinged = [...new Set([0, Math.floor(sandboxes * 0.58), sandboxes - 1])]
  const faulty = Math.min(9, sandboxes - 1)
  return defineScenario({
    name: "manycore",
    description: "64 sandboxes on 64 cores, a periodic thread each, mailboxes in a ring, the NIC shared by all with 3 ping hosts, a driver fault in sandbox 9 recovered locally, 10 s",
    seed: 1,
    duration: "10s",
    system: {
      machine: { cores: sandboxes },
      channels: Array.from({ length: sandboxes }, (_, i) => ({
        kind: "mailbox" as const,
        name: ring(i),
        between: [`sandbox${i}`, `sandbox${(i + 1) % sandboxes}`] as [string, string],
      })),
      hosts: pinged.map((s) => ({ kind: "ping" as const, name: `pinger${s}`, target: `sandbox${s}`, interval: "10ms" })),
      sandboxes: Array.from({ length: sandboxes }, (_, i) => ({
        // One Main VCPU (U = 0.3) for the thread's 0.5–1.5 ms per 10 ms: `qvsim check manycore` holds.
        vcpus: [{ name: "main0", budget: "3ms", period: "10ms" }],
        threads: [{
          name: "app",
          vcpu: "main0",
          arrivals: { kind: "periodic" as const, period: "10ms", offset: `${(i % 10) * 100}us` },
          job: [
            { compute: ["500us", "1500us"] as [string, string] },
            { send: { channel: ring(i), bytes: 64 } },
            { poll: { channel: ring((i + sandboxes - 1) % sandboxes) } },
          ],
        }],
      })),
      faults: [
        { kind: "corruptDriver" as const, sandbox: `sandbox${faulty}`, at: "100ms", detection: "trigger" as const, detectAfter: "5ms", recovery: "local" as const },
      ],
    },
  })
}

export default manycore(64)
