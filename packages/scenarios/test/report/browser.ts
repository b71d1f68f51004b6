/**
 * The headless Chromium of the report's browser tests, installed by npm with the project: the
 * `@sparticuz/chromium` package ships a Chromium build (brotli-compressed) with the NSS and expat
 * libraries it links against, inflated here on first use and driven by `playwright-core`; of the
 * system it needs only glibc and libgcc (Debian's libc6, libgcc-s1). Nothing is downloaded and no
 * system browser is used.
 *
 * Invariants:
 * - The browser is inflated once per installed version into `node_modules/.cache/qvsim-chromium-<version>/`
 *   (removed with node_modules, re-made by `npm ci`). It is inflated into a private staging
 *   directory and renamed into place, so a directory under that name is always complete, and
 *   test files (or checkouts) starting at the same time never see a half-written binary. The
 *   package's own `executablePath()` would inflate into the shared /tmp and reuse whatever
 *   `/tmp/chromium` it finds there, of any version, complete or not.
 * - Text is rendered with the DejaVu fonts of the `dejavu-fonts-ttf` package only (sans-serif,
 *   serif and monospace; they cover the report's ✓ and ✗), through a fontconfig file of our own:
 *   pages render the same whatever fonts the machine has, or none.
 * - `@sparticuz/chromium` 153.0.0 is Chromium 153.0.8010, the build `playwright-core` 1.63.0 was
 *   released for: the two versions are pinned together (bump them together).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium, type Browser } from "playwright-core"

/** Flags of a quiet, offline, throw-away headless browser (root in CI: no sandbox). */
const FLAGS = [
  "--no-sandbox",
  "--no-zygote",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]

/** A package's directory (`node_modules/<name>`), found the way Node resolves it from here. */
const packageDir = (name: string): string => {
  let dir = dirname(createRequire(import.meta.url).resolve(name))
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir)
  return dir
}

/** A fontconfig file naming the DejaVu fonts only, each generic family mapped to one of them. */
const fontsConf = (cacheDir: string): string => {
  const alias = (generic: string, family: string) => `  <alias binding="same"><family>${generic}</family><prefer><family>${family}</family></prefer></alias>`
  return [
    `<?xml version="1.0"?>`,
    `<!DOCTYPE fontconfig SYSTEM "fonts.dtd">`,
    `<fontconfig>`,
    `  <dir>${join(packageDir("dejavu-fonts-ttf/package.json"), "ttf")}</dir>`,
    `  <cachedir>${join(cacheDir, "fonts-cache")}</cachedir>`,
    alias("sans-serif", "DejaVu Sans"),
    alias("serif", "DejaVu Serif"),
    alias("monospace", "DejaVu Sans Mono"),
    alias("system-ui", "DejaVu Sans"),
    `</fontconfig>`,
    ``,
  ].join("\n")
}

/**
 * The inflated browser's directory for the installed package version, inflating it if absent
 * (about 1.5 s and 210 MB once). Throws with the inflater's output if that fails.
 */
export const chromiumDir = (): string => {
  const pkg = packageDir("@sparticuz/chromium")
  const version = (JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { version: string }).version
  const cache = join(pkg, "..", "..", ".cache")
  const dir = join(cache, `qvsim-chromium-${version}`)
  if (existsSync(dir)) return dir
  mkdirSync(cache, { recursive: true })
  const staging = mkdtempSync(join(cache, `qvsim-chromium-${version}.staging-`))
  try {
    // The package inflates into os.tmpdir(): run it in a child whose TMPDIR is the staging
    // directory. Besides the browser, its fonts and SwiftShader: the NSS and expat libraries it
    // links against (shipped for Amazon Linux 2023, glibc 2.34), so the system needs only glibc and libgcc.
    const inflate = [
      `const m = await import(${JSON.stringify(pathToFileURL(join(pkg, "build", "index.js")).href)})`,
      `await m.default.executablePath()`,
      `await m.inflate(${JSON.stringify(join(pkg, "bin", "al2023.tar.br"))})`,
    ].join("\n")
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", inflate], {
      env: { ...process.env, TMPDIR: staging },
      encoding: "utf8",
    })
    if (run.status !== 0 || !existsSync(join(staging, "chromium")) || !existsSync(join(staging, "al2023", "lib", "libnss3.so"))) {
      throw new Error(`inflating @sparticuz/chromium ${version} into ${staging} failed (exit ${run.status}): ${run.stderr}${run.stdout}`)
    }
    writeFileSync(join(staging, "fonts.conf"), fontsConf(dir))
  } catch (error) {
    rmSync(staging, { recursive: true, force: true })
    throw error
  }
  try {
    renameSync(staging, dir)
  } catch (error) {
    rmSync(staging, { recursive: true, force: true })
    // Another process renamed its complete copy into place first: use that one.
    if (!existsSync(dir)) throw error
  }
  return dir
}

/**
 * Launches the project's headless Chromium (a fresh profile, removed on `close()`). Callers make
 * their own contexts and pages (`browser.newContext({ viewport })`) and close the browser.
 */
export const launchChromium = async (): Promise<Browser> => {
  const dir = chromiumDir()
  return chromium.launch({
    executablePath: join(dir, "chromium"),
    headless: true,
    args: FLAGS,
    env: {
      ...process.env,
      FONTCONFIG_FILE: join(dir, "fonts.conf"),
      LD_LIBRARY_PATH: [join(dir, "al2023", "lib"), process.env["LD_LIBRARY_PATH"] ?? ""].filter((p) => p !== "").join(":"),
    },
  })
}
