// Runs bench-core built for wasm32-wasip1 under Node's WASI, as `make bench-core` does:
//   node bench/core/wasi.mjs BENCH_CORE.wasm DIR [ARGS...]
// DIR (where scripts/bench-scale.py wrote the configurations) is the only directory the
// module may open, under the same path; ARGS go to bench-core after DIR.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { argv, exit } from "node:process";
import { WASI } from "node:wasi";

const [module_path, dir, ...rest] = argv.slice(2);
if (!module_path || !dir) {
  console.error("usage: node wasi.mjs BENCH_CORE.wasm DIR [ARGS...]");
  exit(2);
}
const data = resolve(dir);
const wasi = new WASI({
  version: "preview1",
  args: ["bench-core", data, ...rest],
  preopens: { [data]: data },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(module_path));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));
