/**
 * `npm run campaign -- <name> [flags]`: runs the campaign `scripts/campaign/<name>.ts`; with no
 * name, lists the campaigns. Adding a campaign is adding one file there that exports `summary`,
 * `usage` and `main(argv)` ({@link Campaign}); a campaign's own modules live in
 * `scripts/campaign/<name>/`, helpers shared by campaigns (flag parsing, `UsageError`) in
 * `scripts/campaign/lib/`. A campaign's `main` may throw `UsageError` for bad flags.
 *
 * Exit codes: whatever the campaign's `main` resolves to (0 nothing found, 1 failures found);
 * 2 bad input (one line naming the flag or the campaign).
 *
 * Long campaigns share the machine: run them as `nice -n 10 npm run campaign -- ...`.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { UsageError, type Campaign } from "./campaign/lib/cli.ts"

const dir = join(import.meta.dirname, "campaign")
const names = readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort()
const load = async (name: string): Promise<Campaign> => (await import(pathToFileURL(join(dir, `${name}.ts`)).href)) as Campaign

const list = async (): Promise<void> => {
  console.log("usage: npm run campaign -- <name> [flags]   (--help after a name for its flags)\n\ncampaigns:")
  for (const name of names) console.log(`  ${name.padEnd(12)} ${(await load(name)).summary}`)
}

const run = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "--help" || name === "-h") {
    await list()
    return 0
  }
  if (!names.includes(name)) throw new UsageError(`unknown campaign ${JSON.stringify(name)} (known: ${names.join(", ")})`)
  const campaign = await load(name)
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(campaign.usage)
    return 0
  }
  return campaign.main(rest)
}

try {
  process.exitCode = await run(process.argv.slice(2))
} catch (e) {
  if (!(e instanceof UsageError)) throw e
  console.error(`campaign: ${e.message}`)
  process.exitCode = 2
}
