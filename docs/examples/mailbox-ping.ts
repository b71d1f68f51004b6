import { Program } from "@qvsim/sandbox-kernel"
import { defineScenario } from "@qvsim/scenarios"

const MS = 1_000_000

// A sensor thread in sandbox 0 publishes a reading every 20 ms on a shared-memory mailbox;
// a controller in sandbox 1 polls it; an external host pings sandbox 1 every 10 ms.
const sensor: Program.Program = function* (ctx) {
  for (;;) {
    yield Program.waitJob()                                   // the next periodic release
    yield Program.compute(ctx.rng.int(1 * MS, 3 * MS))        // drawn from the thread's own stream
    yield Program.send("readings", { bytes: 32 })
  }
}

const controller: Program.Program = function* () {
  for (;;) {
    const seen: Program.PollResult = yield Program.pollUntilChanged("readings") // busy-poll until a new reading
    if (seen.changed) yield Program.compute(500_000)
  }
}

export default defineScenario({
  name: "mailbox-ping",
  description: "two sandboxes, a mailbox between them, a ping host",
  duration: "1s",
  system: {
    machine: { cores: 2 },                                    // two cores, one sandbox each
    channels: [{ kind: "mailbox", name: "readings", between: ["sandbox0", "sandbox1"] }],
    hosts: [{ kind: "ping", target: "sandbox1", interval: "10ms" }],
    sandboxes: [
      { threads: [{ name: "sensor", vcpu: "main0", arrivals: { kind: "periodic", period: "20ms" }, program: sensor }] },
      { threads: [{ name: "controller", vcpu: "main1", program: controller }] },
    ],
  },
})
