/**
 * The NIC's configuration and vocabulary (spec §D.7, §D.11): its options (`schema`), the
 * interrupt status/mask bits of the 8169 (`Isr`), the TX descriptor states, the DMA buffer size,
 * and the two ports a NIC plugs into besides the wire: machine memory (`DmaPort`) and an
 * interrupt line (`InterruptLine`). The device is `Nic.ts`.
 *
 * @module
 */
import { z } from "zod"
import { ETH_HEADER, MAX_FRAME } from "./Frame.ts"
import { durationNs, int, mac } from "./internal/config.ts"

/** Interrupt status / mask bits (8169 `IntrStatus` / `IntrMask`). */
export const Isr = {
  RxOk: 0x0001,
  RxErr: 0x0002,
  TxOk: 0x0004,
  TxErr: 0x0008,
  RxDescUnavailable: 0x0010,
  LinkChange: 0x0020,
  RxFifoOverflow: 0x0040,
} as const

/** TX descriptor states. */
export const TxState = { Free: 0, Posted: 1, Done: 2 } as const
export type TxState = (typeof TxState)[keyof typeof TxState]

/** Bytes of each descriptor's DMA buffer (two per 4 KiB page). */
export const BUFFER_BYTES = 2048

/**
 * The path from the device to machine memory (the machine, through its DMA remapping unit). The
 * bytes move when the access is allowed; its stall (an IOTLB miss) delays only when the device
 * sees it complete.
 */
export interface DmaPort {
  /** Writes `length` bytes of `src` from `offset` at bus `address`: the stall in ns (≥ 0), or -1 (blocked, nothing written). */
  dmaWrite(address: number, src: Uint8Array, offset: number, length: number): number
  /** Reads `length` bytes at bus `address`: the stall in ns (≥ 0), or -1 (blocked). */
  dmaRead(address: number, length: number): number
}

/** Where something that raises interrupts plugs in (the I/O APIC). */
export interface InterruptLine {
  setLine(line: number, asserted: boolean): void
}

/** NIC options (spec §D.7, §D.11). */
export const schema = z.strictObject({
  /** RX descriptors (`[SRC drivers/net/r8169.c]` 256). */
  rxRing: int(1, 1024).default(256),
  /** TX descriptors (`[SRC drivers/net/r8169.c]` 64). */
  txRing: int(1, 1024).default(64),
  /** The one MAC address (Realtek OUI 00:e0:4c). */
  mac: mac().default(0x00e0_4c00_0001),
  /** `[ASSUMED]` I/O APIC input line of the NIC's INTx (a PCI line, 16..23). */
  irqLine: int(0, 239).default(16),
  /** Link speed, bit/s (`[ASSUMED]` 1 Gb/s: the 8169 family is gigabit; the paper gives no rate). */
  linkBps: int(1).default(1_000_000_000),
  /** Delay from the end of a frame's reception to its descriptor being host-owned (DMA), ns. */
  rxDmaNs: durationNs().default(0),
  /** `[ASSUMED]` How long a chip reset keeps the device down, ns (1 ms: the bound drivers poll the reset bit for). */
  resetNs: durationNs().default(1_000_000),
  /**
   * `[ASSUMED]` After a reset, how much longer the link carries no frame (the driver's
   * initialisation restarts auto-negotiation, `BMCR_ANRESTART` in Quest's r8169.c), ns. Default 0
   * (the paper's Table 1 re-initialisation is all it gives, and its Figure 6 shows online recovery
   * well inside the 500 ms ping interval), range 0–3 s (datasheet/standard: IEEE 802.3 1000BASE-T
   * auto-negotiation with its link-fail-inhibit timer of 750–1,000 ms and training, commonly
   * measured at 2–3 s).
   */
  linkUpNs: durationNs().default(0),
  /** Longest frame accepted, bytes without FCS. */
  maxFrameBytes: int(ETH_HEADER, 2048).default(MAX_FRAME),
  /** Interrupt mask after initialisation (and after every reset). */
  interruptMask: int(0, 0xffff).default(Isr.RxOk | Isr.RxErr | Isr.TxOk | Isr.TxErr | Isr.RxDescUnavailable | Isr.RxFifoOverflow),
})
export type NicInput = z.input<typeof schema>
export type NicConfig = z.output<typeof schema>
