/**
 * The Node options every launch of edgelake carries: the `#!` line of src/cli/main.ts (what `npx
 * edgelake` runs), the Dockerfile's ENTRYPOINT, the Bacalhau jobs' Entrypoint, `npm start` and
 * the demo's nodes (test/node-flags.test.ts holds them together). `node build/cli/main.js`
 * without them works the same, with more memory.
 *
 * `--max-semi-space-size=4` caps V8's young generation at 4 MiB a semi-space (the default grows
 * to 16). The main thread of a run receives every batch's columns and bodies from the workers and
 * drops them soon after; with the default, V8 let its young generation grow to 16–24 MiB
 * (bench/memory.ts), and the dead ArrayBuffers those objects keep alive waited for a rarer
 * scavenge. The flag is process-wide,
 * but the workers' young generation measured 8 MiB with it as without (bench/memory.ts). V8 reads
 * it only when an isolate is made, never later (v8.setFlagsFromString comes too late for the main
 * thread), which is why the options live at the launch and not in code. bench/README.md, ninth
 * pass, has the pairs that chose it.
 *
 * `--heap-growing-percent=150` fixes the factor by which V8 lets a thread's old generation grow
 * past what its last full collection kept, before the next one, at 2.5. V8's own factor moves
 * between 1.1 and 4 with how fast its collector runs. On a 10M-row drain the main thread (it takes
 * every batch from the workers) keeps ≈ 22 MiB live after each full collection and grows by that
 * factor before the next (`--trace-gc`: to 53–60 MiB at 3), and the peak follows: enriched Parquet
 * into S3 peaked at 307–317 MiB with V8's factor, 282–290 with 3 (`=200`) and 259–260 with 2.5;
 * into a lake folder at 294–305, 266–277 and 249–252 (bench/ab.ts pairs; bench/README.md, tenth
 * pass). 2.5 costs more full collections: 5–10 % more CPU on those drains, ≈ 10 % more time on a
 * 1M-row ingestion run (3 cost nothing there), the other stages within noise. 1.5 (`=50`) took
 * the lake drain to 233–240 MiB for 10–20 % more CPU. Memory is the edge node's tighter budget
 * (300 MB), throughput the looser one (hundreds of thousands of rows/s against a node's
 * thousands), so the factor sits where every drain keeps a margin under the line.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=150'];
