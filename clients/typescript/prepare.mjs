// Builds the package when npm prepares it: dist/src (Node, with .d.ts) and
// dist/web/tutti-web.js (the browser bundle). npm runs `prepare` after
// `npm install`/`npm ci` in this folder, before `npm pack`, and when another
// project installs this folder (`npm install path/to/clients/typescript`). In
// that last case npm installs none of this folder's dependencies, so this
// first installs them here from package-lock.json, with scripts off so it does
// not call itself again. Only npm-registry packages are fetched.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const installed = (pkg) => existsSync(join(here, "node_modules", pkg, "package.json"));

// The installing npm passes its settings down as npm_config_* variables; some
// of them (prefix, omit=dev, install-links, workspaces) would turn the nested
// install into something else, so only the ones about reaching the registry
// are kept.
const keep = /^npm_config_(cache|userconfig|globalconfig|cafile|ca|cert|registry|.*:registry|proxy|https_proxy|noproxy|strict_ssl)$/i;
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keep.test(k)),
);
const npm = (...args) => execFileSync("npm", args, { cwd: here, stdio: "inherit", env });

if (!installed("typescript") || !installed("esbuild")) {
  console.error("@tutti-health/tutti-client: installing its build tools (npm ci, from package-lock.json)");
  npm("ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error");
}
npm("run", "-s", "build");
npm("run", "-s", "build:web");
