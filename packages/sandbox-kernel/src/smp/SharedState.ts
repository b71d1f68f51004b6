/**
 * The kernel memory every core of SMP Quest depends on: one address space, so the structures the
 * cores share live in memory any kernel code can write — there is no EPT between cores. The model
 * keeps, in the kernel's bytes-backed data area (`kernel.dataPages` after the kernel image), one
 * page per structure, each with a header word the kernel writes at boot and checks when it uses
 * the structure:
 *
 * | page (from the data area's base) | structure | used by | a bad header means |
 * |---|---|---|---|
 * | 0 | the big kernel lock's word (0 = free) | every core, at every kernel entry | non-zero: the lock looks held for ever — the entering core spins for ever |
 * | 1 + c | core c's run queue of VCPUs (header = `RUNQ_MAGIC + c`) | core c, at each scheduler invocation | the queue is garbage: core c's kernel stops (an oops with interrupts off) |
 * | 1 + cores | the one NIC driver instance's state (header = `DRIVER_MAGIC`) | the NIC interrupt handler (core 0) | the driver is broken: frames are no longer processed, for every core |
 *
 * Programs' data (`ctx.dataBase`) starts after these pages (`userDataOffset`).
 *
 * What fails, and when, is decided by the simulation: which header a write lands on (its address)
 * and when a core next uses that structure. The detection is the use itself (a real kernel reads a
 * garbage pointer and faults); nothing is flagged at the time of the write.
 *
 * Invariants: headers are written once, at boot, by the kernel; afterwards only a wild write (or a
 * program writing into kernel memory, which SMP Quest does not stop) changes them.
 *
 * @module
 */
import { PhysicalMemory, type Machine } from "@qvsim/hardware"

const PAGE = PhysicalMemory.PAGE_BYTES
/** Header of core c's run queue: `RUNQ_MAGIC + c` ("RUNQ"). */
export const RUNQ_MAGIC = 0x5155_4e52
/** Header of the NIC driver's state ("NICD"). */
export const DRIVER_MAGIC = 0x4443_494e

/** Offsets (bytes, from the data area's base) of the shared structures of an SMP kernel over `cores` cores. */
export const layout = (cores: number) => ({
  kernelLockOffset: 0,
  runQueueOffset: (c: number): number => (1 + c) * PAGE,
  driverOffset: (1 + cores) * PAGE,
  /** First byte programs may use (`ctx.dataBase`). */
  userDataOffset: (2 + cores) * PAGE,
  /** Data-area pages the structures take. */
  pages: 2 + cores,
})

export class SharedState {
  readonly machine: Machine.Machine
  /** Guest-physical base of the data area. */
  readonly dataBase: number
  readonly cores: number
  private readonly memory: PhysicalMemory.PhysicalMemory
  private lockFrame = -1
  private driverFrame = -1
  private readonly runQueueFrames: number[] = []

  constructor(machine: Machine.Machine, dataBase: number, cores: number) {
    this.machine = machine
    this.dataBase = dataBase
    this.cores = cores
    this.memory = machine.memory
  }

  /** Boot: resolves the pages (the kernel's page tables) and writes the headers. */
  boot(): void {
    const l = layout(this.cores)
    const frameOf = (off: number): number => {
      const f = this.machine.probe(0, this.dataBase + off, 1)
      if (f < 0) throw new RangeError(`SMP kernel: data offset ${off} is not mapped`)
      return f
    }
    this.lockFrame = frameOf(l.kernelLockOffset)
    for (let c = 0; c < this.cores; c++) {
      const f = frameOf(l.runQueueOffset(c))
      this.runQueueFrames.push(f)
      this.memory.write(f, 0, 4, (RUNQ_MAGIC + c) >>> 0)
    }
    this.driverFrame = frameOf(l.driverOffset)
    this.memory.write(this.driverFrame, 0, 4, DRIVER_MAGIC)
    this.memory.write(this.lockFrame, 0, 4, 0)
  }

  /** Whether the lock word is garbage (non-zero: it looks held for ever). */
  lockCorrupted(): boolean {
    return this.memory.read(this.lockFrame, 0, 4) !== 0
  }

  /** Whether core `c`'s run-queue header is intact. */
  runQueueIntact(c: number): boolean {
    return this.memory.read(this.runQueueFrames[c]!, 0, 4) === ((RUNQ_MAGIC + c) >>> 0)
  }

  /** Whether the NIC driver's state header is intact. */
  driverIntact(): boolean {
    return this.memory.read(this.driverFrame, 0, 4) === DRIVER_MAGIC
  }
}
